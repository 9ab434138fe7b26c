// The reporting API client. The dashboard has no other data source: every number on the page
// comes through here, with the session cookie, from /api/v1/projects/<slug>/.

export class ApiError extends Error {
  constructor(message, { status = 0, param = null, messages = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.param = param; // the request parameter the server blamed, when it named one
    // The server's separate messages for that parameter (a CSV upload's rejected lines, one
    // each), so they can be shown one per line rather than run together.
    this.messages = messages || [message];
  }
}

// A POST body's errors nest (`{"series": [{}, {"event": ["…"]}]}`): flattened to
// "series[1].event: …" so the message still says which part of the body to fix.
function errorText(value, path = "") {
  if (typeof value === "string") return path ? `${path}: ${value}` : value;
  if (Array.isArray(value)) {
    if (value.every((item) => typeof item === "string")) return errorText(value.join(" "), path);
    return value
      .map((item, i) => (item && (typeof item !== "object" || Object.keys(item).length) ? errorText(item, `${path}[${i}]`) : ""))
      .filter(Boolean)
      .join(" ");
  }
  if (value && typeof value === "object") {
    return Object.entries(value)
      .map(([key, item]) => errorText(item, key === "non_field_errors" ? path : path ? `${path}.${key}` : key))
      .join(" ");
  }
  return String(value);
}

// 400 answers name the offending parameter; DRF-style bodies ({"from": ["…"]}) and plain ones
// ({"detail": "…", "param": "from"}) both occur, so both are read.
function errorFromBody(status, body) {
  if (body && typeof body === "object") {
    const param = body.param || body.parameter || body.field || null;
    const message = body.detail || body.error || body.message;
    if (typeof message === "string") {
      return new ApiError(message, { status, param });
    }
    for (const [key, value] of Object.entries(body)) {
      if (key === "complete_until") continue;
      const flat = typeof value === "string" || (Array.isArray(value) && value.every((v) => typeof v === "string"));
      const text = errorText(value, flat || key === "non_field_errors" ? "" : key);
      const messages = Array.isArray(value) && flat ? value : null;
      return new ApiError(text, { status, param: key === "non_field_errors" ? null : key, messages });
    }
  }
  return new ApiError(`Request failed (HTTP ${status}).`, { status });
}

export class ApiClient {
  constructor(base, csrfToken) {
    this.base = base;
    this.csrfToken = csrfToken;
  }

  url(path, params = {}) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== "") query.set(key, value);
    }
    const qs = query.toString();
    return `${this.base}${path}${qs ? `?${qs}` : ""}`;
  }

  async request(path, { params, body, form, method = "GET", signal } = {}) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin", signal };
    // Django's CSRF check applies to session-authenticated writes: funnels and trends are POSTs,
    // deleting a cohort a DELETE without a body.
    if (method !== "GET") headers["X-CSRFToken"] = this.csrfToken;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    // A file upload goes as multipart; the browser sets its Content-Type with the boundary.
    if (form !== undefined) init.body = form;
    let response;
    try {
      response = await fetch(this.url(path, params), init);
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new ApiError("The server could not be reached.", { status: 0 });
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      if (response.status === 401 || response.status === 403) {
        throw new ApiError("Not allowed: your session may have expired. Reload the page to log in.", {
          status: response.status,
        });
      }
      if (response.status === 404 && !data) {
        throw new ApiError("This report is not available on this server.", { status: 404 });
      }
      throw errorFromBody(response.status, data);
    }
    return data;
  }

  // The project's group types (GET groups/types), asked once a page: the "Count by" selects of
  // every panel share this one promise. A failed request is forgotten, so a later call asks again.
  groupTypes() {
    if (!this.groupTypesAnswer) {
      this.groupTypesAnswer = this.get("groups/types").catch((error) => {
        this.groupTypesAnswer = null;
        throw error;
      });
    }
    return this.groupTypesAnswer;
  }

  get(path, params, options = {}) {
    return this.request(path, { ...options, params });
  }

  post(path, body, options = {}) {
    return this.request(path, { ...options, body, method: "POST" });
  }

  patch(path, body, options = {}) {
    return this.request(path, { ...options, body, method: "PATCH" });
  }

  // `form` is a FormData (e.g. a name and a CSV file).
  postForm(path, form, options = {}) {
    return this.request(path, { ...options, form, method: "POST" });
  }

  // Answers {} (a 204 has no body), so a panel's run() can tell success from failure (null).
  async delete(path, options = {}) {
    await this.request(path, { ...options, method: "DELETE" });
    return {};
  }
}
