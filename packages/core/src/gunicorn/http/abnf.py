"""The HTTP grammar (RFC 9110, RFC 9112) as precompiled regular expressions and byte tables."""

import re

# RFC 9110 section 5.6.2: token = 1*tchar
TCHAR = r"!#$%&'*+\-.^_`|~0-9A-Za-z"
TOKEN = "[" + TCHAR + "]+"
TOKEN_RE = re.compile(TOKEN)

# A conventional method: uppercase letters and the other tchars, no lowercase
# and no "#", 3 to 20 characters (gunicorn's historical restriction).
METHOD_BADCHAR_RE = re.compile("[a-z#]")

# RFC 9112 section 2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT
HTTP_VERSION_RE = re.compile(r"HTTP/([0-9])\.([0-9])")

# RFC 9112 section 3.2 / RFC 3986 section 2: a request-target is printable
# ASCII; everything else must be percent-encoded.
TARGET_INVALID_RE = re.compile(r"[^\x21-\x7e]")

# RFC 3986 section 3.1 scheme, "://", an authority of its allowed
# characters (section 3.2), then path, query and fragment: the absolute-form.
ABSOLUTE_FORM_RE = re.compile(
    r"([A-Za-z][A-Za-z0-9+\-.]*)://([A-Za-z0-9\-._~%!$&'()*+,;=:@\[\]]*)([/?#].*)?", re.S)

# RFC 3986 section 3.2.2: IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
IPVFUTURE_RE = re.compile(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")

# RFC 9110 section 5.5: field-value characters are VCHAR, obs-text, SP and
# HTAB; every other control (and DEL) is refused.
FIELD_VALUE_INVALID_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

# Bytes that may never appear in a request head except as the CRLF line
# terminator: every control but HTAB, plus DEL.  Used with bytes.translate
# to find them all in one C-level pass over the head.
HEAD_CONTROL_BYTES = bytes(list(range(0x00, 0x09)) + list(range(0x0A, 0x20)) + [0x7F])
NOT_HEAD_CONTROL_BYTES = bytes(b for b in range(256) if b not in HEAD_CONTROL_BYTES)

# RFC 9112 section 7.1: chunk-size = 1*HEXDIG.  Leading zeros aside, more
# than 16 digits cannot fit in 64 bits and is refused rather than trusted.
CHUNK_SIZE_RE = re.compile(rb"0*([0-9A-Fa-f]{1,16})")

# RFC 9112 section 7.1.1, everything from the first ";" of a chunk-size line:
#   chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
_BTOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED_STRING = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
CHUNK_EXT_RE = re.compile(
    rb"(?:[ \t]*;[ \t]*" + _BTOKEN
    + rb"(?:[ \t]*=[ \t]*(?:" + _BTOKEN + rb"|" + _QUOTED_STRING + rb"))?)*"
)

# RFC 9110 section 8.6: Content-Length = 1*DIGIT (ASCII digits only:
# str.isdigit() would also accept other scripts' digits).
CONTENT_LENGTH_RE = re.compile(r"[0-9]+")

# RFC 9110 section 7.2: Host = uri-host [ ":" port ], with uri-host an
# IP-literal or a reg-name (RFC 3986 section 3.2.2; an IPv4 address is a
# reg-name by its characters).  Empty is valid: a target without authority.
# An IP-literal may carry an RFC 6874 zone id ("%25eth0").
_REG_NAME_CHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})"
_REG_NAME = _REG_NAME_CHAR + "*"
_IP_LITERAL = r"\[[0-9A-Za-z:.\-_~!$&'()*+,;=%]+\]"
HOST_RE = re.compile("(?:" + _IP_LITERAL + "|" + _REG_NAME + ")(?::[0-9]*)?")

# RFC 9112 section 3.2.3: authority-form = uri-host ":" port, for CONNECT;
# the host is not empty and the port is given (RFC 9110 section 9.3.6).
AUTHORITY_FORM_RE = re.compile("(?:" + _IP_LITERAL + "|" + _REG_NAME_CHAR + "+):([0-9]{1,5})")

# A bare LF (not preceded by CR), searched for while a head is incomplete.
BARE_LF_RE = re.compile(rb"(?<!\r)\n")
