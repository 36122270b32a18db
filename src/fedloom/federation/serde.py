"""The declared binary wire format of values exchanged between parties. Never pickle.

A payload is ``b"FLM" + version`` followed by one value; each value is a one-byte type tag and
a body. Lengths and counts are big-endian unsigned integers. The decoder checks every length
against the bytes that remain, limits nesting depth, and only builds the types listed here:

====  ==============  =====================================================================
tag   type            body
====  ==============  =====================================================================
0     None            (empty)
1/2   True / False    (empty)
3     int             sign u8 (0 or 1), length u32, magnitude big-endian
4     float           IEEE-754 binary64, big-endian
5     str             length u32, UTF-8
6     bytes           length u32, raw
7     list            count u32, values (tuples decode as lists)
8     dict            count u32, then per entry: key (str body), value
9     ndarray         dtype (length u8 + ASCII numpy dtype string, little-endian, kinds
                      b/i/u/f/c only), ndim u8, shape u64 × ndim, raw C-order bytes
10    public key      scheme (length u8 + ASCII), length u32, scheme-specific key body
11    CipherVector    key fingerprint (16 bytes), frac_bits u32, bound_bits u32 (bit bound of
                      the encoded plaintexts), count u64, width u32, count × width-byte
                      big-endian ciphertexts
12    RawPlaintexts   same layout as CipherVector (bound_bits = key length); decrypted,
                      still-masked elements of Z_n
====  ==============  =====================================================================

Key schemes are "paillier" (body: n), "ou" (Okamoto–Uchiyama; body: n, G, H, each a u32 length
and big-endian bytes) and "plain". A Paillier ciphertext is an element of Z_{n²}, an OU one an
element of Z_n; neither may be 0.

Ciphertexts decode only under a public key this party already knows (it received or sent it
before): the :class:`KeyRing`. The ring refuses the plaintext stand-in scheme and keys shorter
than its policy allows, so a peer cannot talk a party into "encrypting" in the clear.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass, field
from typing import Any

import gmpy2
import numpy as np

from fedloom.crypto import CipherVector, PaillierPublicKey, PlainPublicKey, PublicKey, RawPlaintexts
from fedloom.crypto.ou import OUPublicKey
from fedloom.federation.types import SerdeError

MAGIC = b"FLM\x01"
MAX_DEPTH = 64
_ALLOWED_KINDS = frozenset("biufc")
# Exactly the dtype strings the encoder writes (``dtype.str`` of a little-endian b/i/u/f/c
# dtype). Anything else never reaches np.dtype, whose string parser accepts far more (and may
# raise ValueError or SyntaxError on odd input).
_DTYPE_STR = re.compile(r"[<|][biufc][0-9]{1,2}")

_NONE, _TRUE, _FALSE, _INT, _FLOAT, _STR, _BYTES, _LIST, _DICT = range(9)
_NDARRAY, _PUBKEY, _CIPHER, _RAW = 9, 10, 11, 12

_KEY_CLASSES: dict[str, type[PaillierPublicKey] | type[PlainPublicKey] | type[OUPublicKey]] = {
    "paillier": PaillierPublicKey,
    "plain": PlainPublicKey,
    "ou": OUPublicKey,
}


@dataclass
class KeyRing:
    """Public keys this party may see ciphertexts under, and the policy for accepting keys."""

    min_key_length: int = 2048
    allow_plain: bool = False
    _keys: dict[bytes, PublicKey] = field(default_factory=dict)

    def add(self, key: PublicKey) -> PublicKey:
        """Admit ``key`` after checking it against the policy; returns it."""
        if key.scheme == "plain" and not self.allow_plain:
            raise SerdeError("refusing the insecure plaintext stand-in key (allow_plain is off)")
        if key.key_length < self.min_key_length:
            raise SerdeError(
                f"refusing a {key.key_length}-bit {key.scheme} key; policy minimum is "
                f"{self.min_key_length} bits"
            )
        self._keys[key.fingerprint] = key
        return key

    def get(self, fingerprint: bytes) -> PublicKey:
        """The known key with this fingerprint, or a SerdeError."""
        try:
            return self._keys[fingerprint]
        except KeyError:
            raise SerdeError(
                f"ciphertexts under unknown key {fingerprint.hex()[:12]}; the key must be "
                "exchanged before ciphertexts under it"
            ) from None


class Serde:
    """Encodes and decodes values in the wire format; public keys pass through ``keyring``."""

    def __init__(self, keyring: KeyRing | None = None) -> None:
        self.keyring = keyring if keyring is not None else KeyRing()

    def dumps(self, value: Any) -> bytes:
        """Encode one value (see the module docstring for what is supported)."""
        out = bytearray(MAGIC)
        try:
            self._write(out, value, 0)
        except (UnicodeEncodeError, struct.error) as exc:  # lone surrogates, lengths >= 2**32
            raise SerdeError(f"value has no wire format: {exc}") from exc
        return bytes(out)

    def loads(self, data: bytes) -> Any:
        """Decode one value, validating every length, type and key."""
        if not data.startswith(MAGIC):
            raise SerdeError("payload does not start with the fedloom wire-format magic")
        reader = _Reader(memoryview(data), len(MAGIC))
        value = self._read(reader, 0)
        if reader.pos != len(data):
            raise SerdeError(f"{len(data) - reader.pos} trailing bytes after the value")
        return value

    def _write(self, out: bytearray, value: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise SerdeError(f"value nests deeper than {MAX_DEPTH} levels")
        if value is None:
            out.append(_NONE)
        elif isinstance(value, bool | np.bool_):
            out.append(_TRUE if value else _FALSE)
        elif isinstance(value, int | np.integer):
            v = int(value)
            mag = abs(v).to_bytes((abs(v).bit_length() + 7) // 8, "big")
            out += struct.pack(">BBI", _INT, v < 0, len(mag)) + mag
        elif isinstance(value, float | np.floating):
            out += struct.pack(">Bd", _FLOAT, float(value))
        elif isinstance(value, str):
            raw = value.encode()
            out += struct.pack(">BI", _STR, len(raw)) + raw
        elif isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
            out += struct.pack(">BI", _BYTES, len(raw)) + raw
        elif isinstance(value, list | tuple):
            out += struct.pack(">BI", _LIST, len(value))
            for item in value:
                self._write(out, item, depth + 1)
        elif isinstance(value, dict):
            out += struct.pack(">BI", _DICT, len(value))
            for key, item in value.items():
                if not isinstance(key, str):
                    raise SerdeError(f"dict keys must be str, got {type(key).__name__}")
                raw = key.encode()
                out += struct.pack(">I", len(raw)) + raw
                self._write(out, item, depth + 1)
        elif isinstance(value, np.ndarray):
            self._write_array(out, value)
        elif isinstance(value, PublicKey):
            self.keyring.add(value)
            scheme, body = value.scheme.encode(), value.to_bytes()
            out += struct.pack(">BB", _PUBKEY, len(scheme)) + scheme
            out += struct.pack(">I", len(body)) + body
        elif isinstance(value, CipherVector | RawPlaintexts):
            tag = _CIPHER if isinstance(value, CipherVector) else _RAW
            elements = value.ciphertexts if isinstance(value, CipherVector) else value.elements
            key = value.public_key
            width = key.ciphertext_bytes if tag == _CIPHER else (key.key_length + 7) // 8
            out += struct.pack(">B", tag) + key.fingerprint
            bound = value.bound_bits if isinstance(value, CipherVector) else key.key_length
            out += struct.pack(">IIQI", value.frac_bits, bound, len(elements), width)
            for element in elements:
                out += int(element).to_bytes(width, "big")
        else:
            raise SerdeError(f"type {type(value).__name__} has no wire format")

    @staticmethod
    def _write_array(out: bytearray, arr: np.ndarray[Any, Any]) -> None:
        if arr.dtype.kind not in _ALLOWED_KINDS:
            raise SerdeError(f"arrays of dtype {arr.dtype} have no wire format")
        # astype keeps 0-d arrays 0-d (np.ascontiguousarray would make them shape (1,)).
        arr = arr.astype(arr.dtype.newbyteorder("<"), order="C", copy=False)
        dtype = arr.dtype.str.encode()
        out += struct.pack(">BB", _NDARRAY, len(dtype)) + dtype
        out += struct.pack(">B", arr.ndim) + struct.pack(f">{arr.ndim}Q", *arr.shape)
        out += arr.tobytes()

    def _read(self, r: _Reader, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise SerdeError(f"value nests deeper than {MAX_DEPTH} levels")
        tag = r.u8()
        if tag == _NONE:
            return None
        if tag in (_TRUE, _FALSE):
            return tag == _TRUE
        if tag == _INT:
            negative, length = r.u8(), r.u32()
            mag = int.from_bytes(r.take(length), "big")
            return -mag if negative else mag
        if tag == _FLOAT:
            return struct.unpack(">d", r.take(8))[0]
        if tag == _STR:
            return r.text(r.u32())
        if tag == _BYTES:
            return bytes(r.take(r.u32()))
        if tag == _LIST:
            return [self._read(r, depth + 1) for _ in range(r.count(r.u32()))]
        if tag == _DICT:
            result: dict[str, Any] = {}
            for _ in range(r.count(r.u32())):
                key = r.text(r.u32())
                result[key] = self._read(r, depth + 1)
            return result
        if tag == _NDARRAY:
            return self._read_array(r)
        if tag == _PUBKEY:
            scheme = r.text(r.u8())
            cls = _KEY_CLASSES.get(scheme)
            if cls is None:
                raise SerdeError(f"unknown key scheme {scheme!r}")
            body = bytes(r.take(r.u32()))
            try:
                public_key: PublicKey = cls.from_bytes(body)
            except ValueError as exc:
                raise SerdeError(f"invalid {scheme} public key: {exc}") from exc
            return self.keyring.add(public_key)
        if tag in (_CIPHER, _RAW):
            return self._read_elements(r, tag)
        raise SerdeError(f"unknown type tag {tag} at offset {r.pos - 1}")

    @staticmethod
    def _read_array(r: _Reader) -> np.ndarray[Any, Any]:
        text = r.text(r.u8())
        if not _DTYPE_STR.fullmatch(text):
            raise SerdeError(f"arrays of dtype {text!r} are not accepted")
        try:
            dtype = np.dtype(text)
        except (TypeError, ValueError) as exc:
            raise SerdeError(f"invalid array dtype: {exc}") from exc
        if dtype.kind not in _ALLOWED_KINDS or dtype.byteorder == ">":
            raise SerdeError(f"arrays of dtype {dtype} are not accepted")
        ndim = r.u8()
        shape = struct.unpack(f">{ndim}Q", r.take(8 * ndim))
        nbytes = math.prod(shape) * dtype.itemsize  # exact; np.prod goes through floats
        data = r.take(nbytes)
        try:
            return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
        except (ValueError, OverflowError) as exc:  # too many dimensions, a dimension > 2**63
            raise SerdeError(f"invalid array shape {shape}: {exc}") from exc

    def _read_elements(self, r: _Reader, tag: int) -> CipherVector | RawPlaintexts:
        key = self.keyring.get(bytes(r.take(16)))
        frac_bits = r.u32()
        if frac_bits > key.key_length:
            # Honest results never carry more fractional bits than the modulus has; a huge
            # value would make the receiver's next rescale or decode compute 2**frac_bits.
            raise SerdeError(f"frac_bits {frac_bits} exceeds the {key.key_length}-bit key")
        bound_bits = r.u32()
        if bound_bits > key.key_length:
            raise SerdeError(f"bound_bits {bound_bits} exceeds the {key.key_length}-bit key")
        count, width = struct.unpack(">QI", r.take(12))
        bound = key.n * key.n if tag == _CIPHER and key.scheme == "paillier" else key.n
        expected = (int(bound.bit_length()) + 7) // 8
        if width != expected:
            raise SerdeError(f"element width {width} does not match the key ({expected} bytes)")
        raw = r.take(r.count(count, width) * width)
        elements = [
            gmpy2.mpz(int.from_bytes(raw[i * width : (i + 1) * width], "big")) for i in range(count)
        ]
        if any(e >= bound for e in elements):
            raise SerdeError("an element is out of range for its key")
        if tag == _CIPHER:
            if key.scheme in ("paillier", "ou") and any(e == 0 for e in elements):
                raise SerdeError("a ciphertext is 0, which no encryption produces")
            return CipherVector(key, elements, frac_bits, bound_bits)
        return RawPlaintexts(key, elements, frac_bits)


class _Reader:
    """Bounds-checked cursor over a payload."""

    def __init__(self, data: memoryview, pos: int) -> None:
        self.data, self.pos = data, pos

    def take(self, size: int) -> memoryview:
        if size < 0 or self.pos + size > len(self.data):
            raise SerdeError(
                f"payload truncated: need {size} bytes at offset {self.pos}, "
                f"{len(self.data) - self.pos} remain"
            )
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def count(self, n: int, min_item_size: int = 1) -> int:
        """Reject counts that could not possibly fit in the remaining bytes."""
        if n * max(min_item_size, 1) > len(self.data) - self.pos:
            raise SerdeError(f"count {n} exceeds the remaining payload")
        return n

    def u8(self) -> int:
        return int(self.take(1)[0])

    def u32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def text(self, size: int) -> str:
        try:
            return str(bytes(self.take(size)), "utf-8")
        except UnicodeDecodeError as exc:
            raise SerdeError(f"invalid UTF-8 string: {exc}") from exc
