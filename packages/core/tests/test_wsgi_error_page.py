"""The error page: well-formed, closes, escapes, never leaks a traceback."""

from wsgi_support import PieceSocket, parse_responses

from gunicorn import util
from gunicorn.wsgi.error_page import reason_for, render_error, write_error


def test_write_error_is_exported_from_util():
    assert util.write_error is write_error


def test_render_error_shape():
    page = render_error(400, "Bad Request", "Invalid request line")
    code, headers, body = parse_responses(page)[0]
    assert page.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert code == 400
    assert headers["connection"] == "close"
    assert headers["content-type"].startswith("text/html")
    assert int(headers["content-length"]) == len(body)
    assert b"Bad Request" in body and b"Invalid request line" in body


def test_message_is_escaped():
    body = parse_responses(render_error(400, "Bad Request", "<script>x</script>"))[0][2]
    assert b"<script>" not in body
    assert b"&lt;script&gt;" in body


def test_reason_cannot_split_the_status_line():
    page = render_error(400, "Bad\r\nX-Injected: 1", "")
    assert b"\r\nX-Injected" not in page


def test_missing_reason_uses_standard_phrase():
    assert render_error(404, "", "").startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert reason_for(431) == "Request Header Fields Too Large"
    assert reason_for(799) == "Unknown"


def test_write_error_sends_on_socket():
    sock = PieceSocket()
    write_error(sock, 500, "Internal Server Error", "")
    assert bytes(sock.out).startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"Traceback" not in bytes(sock.out)
