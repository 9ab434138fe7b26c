// What the signed-in person's role in the project lets a page offer (the server's config `role`:
// viewer, editor or admin, staff counting as admin). The API still decides every request; this
// only keeps a page from offering forms whose save would be refused.

const RANK = { viewer: 1, editor: 2, admin: 3 };

export function mayEdit(ctx) {
  return (RANK[ctx.role] || 0) >= RANK.editor;
}
