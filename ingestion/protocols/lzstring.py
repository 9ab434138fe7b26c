"""Decoding of LZString's ``compressToBase64`` (posthog-js's legacy ``?compression=lz64``).

Old posthog-js versions (and some snippets still in the wild) send bodies compressed this way;
no maintained Python package implements it, and the decoder is short.
"""

from __future__ import annotations

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_VALUES = {char: n for n, char in enumerate(_ALPHABET)}
MAX_OUTPUT_CHARS = 5 * 1024 * 1024


class LZStringError(ValueError):
    pass


def decompress_from_base64(text: str) -> str:
    """The string LZString.compressToBase64 encoded; ``LZStringError`` when it is not such data."""
    text = text.strip().replace(" ", "+")  # a '+' that went through form decoding arrives as ' '
    if not text:
        return ""
    try:
        values = [_VALUES[char] for char in text]
    except KeyError as exc:
        raise LZStringError(f"character {exc.args[0]!r} is not base64") from None
    return _decompress(values, 32)


def _decompress(values: list[int], reset_value: int) -> str:
    position = 0
    bit_mask = reset_value
    index = 1
    val = values[0]

    def read(bits: int) -> int:
        nonlocal position, bit_mask, index, val
        result, power = 0, 1
        for _ in range(bits):
            if bit_mask & val:
                result |= power
            bit_mask >>= 1
            if bit_mask == 0:
                bit_mask = reset_value
                if index >= len(values):
                    raise LZStringError("truncated data")
                val = values[index]
                index += 1
            power <<= 1
        return result

    dictionary: dict[int, str] = {0: "0", 1: "1", 2: "2"}
    enlarge_in, dict_size, num_bits = 4, 4, 3
    kind = read(2)
    if kind == 0:
        entry = chr(read(8))
    elif kind == 1:
        entry = chr(read(16))
    elif kind == 2:
        return ""
    else:
        raise LZStringError("invalid header")
    dictionary[3] = entry
    w = entry
    out = [entry]
    size = len(entry)
    while True:
        code = read(num_bits)
        if code == 0 or code == 1:
            dictionary[dict_size] = chr(read(8 if code == 0 else 16))
            code = dict_size
            dict_size += 1
            enlarge_in -= 1
        elif code == 2:
            return "".join(out)
        if enlarge_in == 0:
            enlarge_in = 1 << num_bits
            num_bits += 1
        if code in dictionary:
            entry = dictionary[code]
        elif code == dict_size:
            entry = w + w[0]
        else:
            raise LZStringError("invalid code")
        out.append(entry)
        size += len(entry)
        if size > MAX_OUTPUT_CHARS:
            raise LZStringError("decompressed data is too large")
        dictionary[dict_size] = w + entry[0]
        dict_size += 1
        enlarge_in -= 1
        w = entry
        if enlarge_in == 0:
            enlarge_in = 1 << num_bits
            num_bits += 1
