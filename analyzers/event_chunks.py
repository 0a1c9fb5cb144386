"""Split a streamed trace JSON into chunks of whole events, so no copy of the whole text is ever held.

Blocks of text come in (read from disk or gunzipped a step at a time);
complete chunks of roughly ``chunk_bytes`` go out, each the text of some
consecutive elements of ``traceEvents`` without the brackets
(``{..}, {..}``).  A chunk ends at a ``}`` followed by ``, {``; should that
``}`` sit inside a string, the chunk is not valid JSON and its decode fails,
so a wrong split can never go unnoticed.  The text around the array (the
header before ``"traceEvents": [`` and the keys after ``]``) is checked and
decoded for the top-level metadata.  A layout this does not recognise raises
:class:`Unchunkable`, and the caller decodes the whole document instead.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

import msgspec

_KEY_RE = re.compile(rb'"traceEvents"\s*:\s*\[')
_NEXT_EVENT_RE = re.compile(rb"\}\s*,\s*\{")
_SPACE = b" \t\r\n"
#: the header (before the events) is small in every trace seen; beyond this it is not a layout we split
MAX_HEADER_BYTES = 64 << 20
#: array-end candidates (a ``]`` after a ``}``) tried from the end of the text
MAX_END_CANDIDATES = 64


class Unchunkable(Exception):
    """The text is not laid out as a split-able trace; decode it whole."""


class _Meta(msgspec.Struct):
    traceEvents: Any = None


class EventChunker:
    """Feed blocks of the document's text in order; take event chunks out as they complete."""

    def __init__(self, meta_type: type = _Meta, chunk_bytes: int = 4 << 20) -> None:
        self.chunk_bytes = chunk_bytes
        self._meta_decoder = msgspec.json.Decoder(meta_type)
        self._buf = bytearray()
        self._header: bytes | None = None  # None until the events start; b"" for a bare list
        self.meta: Any = None  # the decoded top-level object (traceEvents None), once finished

    def chunks(self, blocks: Iterable[bytes]) -> Iterator[bytes]:
        """Every chunk of events, the last one after the final block; then ``self.meta`` is set."""
        for block in blocks:
            yield from self.feed(block)
        yield from self.finish()

    def feed(self, block: bytes) -> list[bytes]:
        self._buf += block
        if self._header is None and not self._find_start():
            return []
        out = []
        while len(self._buf) >= self.chunk_bytes:
            chunk = self._cut(self.chunk_bytes) or self._cut(len(self._buf))
            if chunk is None:
                break
            out.append(chunk)
        return out

    def finish(self) -> list[bytes]:
        if self._header is None:
            raise Unchunkable("no traceEvents list found")
        buf = self._buf
        end = self._array_end(buf)
        body = bytes(buf[:end]).strip(_SPACE)
        self._buf = bytearray()
        return [body] if body else []

    # ------------------------------------------------------------------ inner
    def _find_start(self) -> bool:
        """Find where the events start; keep only the text after it.  False while more header is needed."""
        start = self._buf.lstrip(_SPACE)[:1] if len(self._buf) < 4096 else bytes(self._buf[:4096]).lstrip(_SPACE)[:1]
        if start == b"[":
            self._header = b""
            del self._buf[:self._buf.index(b"[") + 1]
            return True
        if start not in (b"{", b""):
            raise Unchunkable("not a JSON object or list")
        m = _KEY_RE.search(self._buf)
        if m is None:
            if len(self._buf) > MAX_HEADER_BYTES:
                raise Unchunkable("traceEvents not found near the start")
            return False
        self._header = bytes(self._buf[:m.start()])
        del self._buf[:m.end()]
        try:  # the header must be the start of the top-level object
            self._meta_decoder.decode(self._header + b'"traceEvents": null}')
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise Unchunkable("unexpected text before traceEvents") from None
        return True

    def _cut(self, limit: int) -> bytes | None:
        """The longest run of whole events in the buffer's first ``limit`` bytes (removed from it); None if none."""
        buf = self._buf
        pos = buf.rfind(b"}", 0, limit)
        while pos > 0:
            m = _NEXT_EVENT_RE.match(buf, pos)
            if m is not None:
                chunk = bytes(buf[:pos + 1])
                del buf[:m.end() - 1]
                return chunk
            pos = buf.rfind(b"}", 0, pos)
        return None

    def _array_end(self, buf: bytearray) -> int:
        """Offset of the ``]`` that closes traceEvents; the text after it is decoded into ``self.meta``."""
        pos = len(buf)
        for _ in range(MAX_END_CANDIDATES):
            pos = buf.rfind(b"]", 0, pos)
            if pos < 0:
                break
            before = bytes(buf[max(0, pos - 64):pos]).rstrip(_SPACE)
            if before.endswith(b"}") or not bytes(buf[:pos]).strip(_SPACE):
                if self._suffix_ok(bytes(buf[pos + 1:])):
                    return pos
        raise Unchunkable("end of traceEvents not found")

    def _suffix_ok(self, suffix: bytes) -> bool:
        if self._header == b"":  # a bare list: nothing may follow
            self.meta = self._meta_decoder.decode(b"{}")
            return not suffix.strip(_SPACE)
        try:
            self.meta = self._meta_decoder.decode(self._header + b'"traceEvents": null' + suffix)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return False
        return True
