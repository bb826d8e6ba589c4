"""HTTP/2 on the wire with a raw h2 client: flow control, bodies, errors, resets, trailers."""

import json
import time

import h2.events
import pytest
from conftest import h2c_server
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from hyperframe.frame import DataFrame
from raw_client import RawH2Client


def of(kind, events, sid=None):
    return [e for e in events if isinstance(e, kind)
            and (sid is None or getattr(e, "stream_id", None) == sid)]


def still_serves(port):
    with RawH2Client(port) as c:
        status, _, body, _ = c.response(c.request("/sized"))
        return status == 200 and body == b"y" * 1000


def test_upload_far_larger_than_the_window(h2c):
    data = bytes(range(256)) * 8192          # 2 MiB against a 64 KiB window
    with RawH2Client(h2c.port) as c:
        sid = c.request("/echo", method="POST", body=data)
        status, headers, body, _ = c.response(sid)
    assert status == 200 and headers["content-length"] == str(len(data))
    assert body == data


def test_upload_read_line_by_line(h2c):
    data = b"".join(b"line %d\n" % i for i in range(20000))
    with RawH2Client(h2c.port) as c:
        status, _, body, _ = c.response(c.request("/echo-lines", method="POST", body=data))
    assert status == 200 and body == b"20000"


def test_streamed_mebibyte_through_a_tiny_client_window(h2c):
    # The server must wait for our WINDOW_UPDATEs again and again.
    settings = {SettingCodes.INITIAL_WINDOW_SIZE: 1024}
    with RawH2Client(h2c.port, local_settings=settings) as c:
        status, headers, body, _ = c.response(c.request("/big"))
    assert status == 200 and "content-length" not in headers
    assert body == b"x" * (1 << 20)


def test_head_has_headers_and_no_body(h2c):
    with RawH2Client(h2c.port) as c:
        sid = c.request("/sized", method="HEAD")
        status, headers, body, _ = c.response(sid)
        assert of(h2.events.StreamEnded, c.events, sid)
    assert status == 200 and headers["content-length"] == "1000" and body == b""


def test_no_content_response(h2c):
    with RawH2Client(h2c.port) as c:
        status, _, body, _ = c.response(c.request("/no-content"))
    assert status == 204 and body == b""


def test_many_streams_at_once_are_all_answered(h2c):
    with RawH2Client(h2c.port) as c:
        sids = [c.request("/env?n=%d" % i) for i in range(30)]
        answers = [c.response(sid) for sid in sids]
    assert [json.loads(a[2])["QUERY_STRING"] for a in answers] == ["n=%d" % i for i in range(30)]


def test_environ_of_an_http2_request(h2c):
    with RawH2Client(h2c.port) as c:
        sid = c.request("/p%20q?a=1", headers=[("cookie", "a=1"), ("cookie", "b=2"),
                                               ("x-thing", "v")],
                        priority_weight=32, priority_depends_on=0)
        env = json.loads(c.response(sid)[2])
    assert env["SERVER_PROTOCOL"] == "HTTP/2.0" and env["HTTP_VERSION"] == "2"
    assert env["REQUEST_METHOD"] == "GET" and env["PATH_INFO"] == "/p q"
    assert env["RAW_URI"] == "/p%20q?a=1" and env["QUERY_STRING"] == "a=1"
    assert env["HTTP_HOST"] == "localhost"
    assert env["HTTP_COOKIE"] == "a=1; b=2" and env["HTTP_X_THING"] == "v"
    assert env["gunicorn.http2.priority_weight"] == 32
    assert env["gunicorn.http2.priority_depends_on"] == 0
    assert env["wsgi.url_scheme"] == "http"


def test_trailers_from_the_app(h2c):
    with RawH2Client(h2c.port) as c:
        status, _, body, trailers = c.response(c.request("/trailers"))
    assert status == 200 and body == b"with trailers"
    assert trailers == {"x-checksum": "abc123"}


def test_early_hints_arrive_before_the_response(h2c):
    with RawH2Client(h2c.port) as c:
        sid = c.request("/hints")
        status, _, body, _ = c.response(sid)
        hints = of(h2.events.InformationalResponseReceived, c.events, sid)
    assert status == 200 and body == b"hinted"
    assert hints and dict(hints[0].headers)[b":status"] == b"103"
    assert dict(hints[0].headers)[b"link"] == b"</style.css>; rel=preload; as=style"


def test_app_error_is_a_500_and_the_connection_goes_on(h2c):
    with RawH2Client(h2c.port) as c:
        status, _, body, _ = c.response(c.request("/boom"))
        assert status == 500 and b"Internal Server Error" in body
        assert c.response(c.request("/sized"))[0] == 200


def test_app_error_mid_body_resets_the_stream(h2c):
    with RawH2Client(h2c.port) as c:
        sid = c.request("/boom-late")
        c.response(sid)
        resets = of(h2.events.StreamReset, c.events, sid)
        assert resets and resets[0].error_code == ErrorCodes.INTERNAL_ERROR
        assert c.response(c.request("/sized"))[0] == 200


def test_short_body_for_its_content_length_resets_the_stream(h2c):
    with RawH2Client(h2c.port) as c:
        sid = c.request("/short")
        c.response(sid)
        assert of(h2.events.StreamReset, c.events, sid)
        assert c.response(c.request("/sized"))[0] == 200


def test_client_reset_mid_response_leaves_the_connection_usable(h2c):
    with RawH2Client(h2c.port, local_settings={SettingCodes.INITIAL_WINDOW_SIZE: 4096}) as c:
        sid = c.request("/big?4194304")
        c.read_until(lambda: of(h2.events.DataReceived, c.events, sid))
        c.conn.reset_stream(sid, ErrorCodes.CANCEL)
        c.flush()
        status, _, body, _ = c.response(c.request("/sized"))
    assert status == 200 and body == b"y" * 1000


def test_client_reset_mid_upload_is_no_complete_body_for_the_app(h2c, tmp_path):
    # RFC 9110 section 8.6: a message cut short is incomplete. The reset upload
    # must not read as a short, complete body (the app would act on it).
    mark = tmp_path / "outcome"
    with RawH2Client(h2c.port) as c:
        sid = c.request("/read-into?%s" % mark, method="POST",
                        headers=[("content-length", "100000")], body=b"a" * 30000, end=False)
        time.sleep(0.3)
        c.conn.reset_stream(sid, ErrorCodes.CANCEL)
        c.flush()
        for _ in range(150):
            if mark.exists() and mark.read_text():
                break
            time.sleep(0.1)
        assert mark.read_text() == "error NoMoreData"
        status, _, _, _ = c.response(c.request("/sized"))
        assert status == 200
    assert "Error handling request POST /read-into" not in h2c.log


def test_garbage_after_the_preface_gets_goaway_protocol_error(h2c):
    with RawH2Client(h2c.port) as c:
        c.sock.sendall(b"\x00\x00\x04\x09\x00\x00\x00\x00\x01garbage-garbage")
        c.read_until(lambda: c.goaway() is not None or c.closed)
        assert c.goaway() is not None
        assert c.goaway().error_code == ErrorCodes.PROTOCOL_ERROR
        assert c.read_until(lambda: c.closed)
    assert still_serves(h2c.port)


def test_frame_over_max_frame_size_is_frame_size_error(h2c):
    with RawH2Client(h2c.port) as c:
        sid = c.request("/echo", method="POST", end=False)
        frame = DataFrame(sid)
        frame.data = b"d" * 20000             # the server advertised 16384
        c.sock.sendall(frame.serialize())
        c.read_until(lambda: c.goaway() is not None or c.closed)
        assert c.goaway() is not None
        assert c.goaway().error_code == ErrorCodes.FRAME_SIZE_ERROR
    assert still_serves(h2c.port)


@pytest.fixture(scope="module")
def small_limits():
    with h2c_server("--http2-max-concurrent-streams", "2",
                    "--http2-initial-window-size", "1000",
                    "--http2-max-header-list-size", "4096") as srv:
        yield srv


def test_data_beyond_the_window_is_flow_control_error(small_limits):
    with RawH2Client(small_limits.port) as c:
        c.read_until(lambda: of(h2.events.RemoteSettingsChanged, c.events))
        sid = c.request("/echo", method="POST", end=False)
        raw = b""
        for _ in range(2):                   # 1600 bytes against a 1000-byte window
            frame = DataFrame(sid)
            frame.data = b"d" * 800
            raw += frame.serialize()
        c.sock.sendall(raw)
        c.read_until(lambda: c.goaway() is not None or c.closed)
        assert c.goaway() is not None
        assert c.goaway().error_code == ErrorCodes.FLOW_CONTROL_ERROR
    assert still_serves(small_limits.port)


def test_upload_through_a_small_advertised_window(small_limits):
    data = b"u" * 200_000
    with RawH2Client(small_limits.port) as c:
        status, _, body, _ = c.response(c.request("/echo", method="POST", body=data))
    assert status == 200 and body == data


def test_too_many_streams_is_refused_stream(small_limits):
    with RawH2Client(small_limits.port) as c:
        c.read_until(lambda: of(h2.events.RemoteSettingsChanged, c.events))
        assert c.conn.remote_settings.max_concurrent_streams == 2
        # Pretend we did not hear the limit.
        c.conn.remote_settings._settings[SettingCodes.MAX_CONCURRENT_STREAMS][0] = 100
        sids = [c.request("/echo", method="POST", end=False) for _ in range(3)]
        # RFC 9113 section 5.1.2: the third stream alone is refused ...
        assert c.read_until(lambda: c.ended(sids[2]))
        resets = of(h2.events.StreamReset, c.events)
        assert [(e.stream_id, e.error_code) for e in resets] == \
            [(sids[2], ErrorCodes.REFUSED_STREAM)]
        # ... and the two in progress are still answered.
        for sid in sids[:2]:
            c.send_body(sid, b"ok")
            status, _, body, _ = c.response(sid)
            assert (status, body) == (200, b"ok")
        assert c.goaway() is None
    assert still_serves(small_limits.port)


def test_worker_survives_all_of_it(h2c):
    assert still_serves(h2c.port)
    before = h2c.worker_pids()
    for payload in (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\xff" * 100,
                    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00",
                    b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"):
        h2c.request(payload, timeout=1)
    assert still_serves(h2c.port)
    assert h2c.worker_pids() == before


def test_file_wrapper_body_over_http2(h2c):
    with RawH2Client(h2c.port) as c:
        status, headers, body, _ = c.response(c.request("/file"))
    assert status == 200 and headers["content-length"] == "300000"
    assert body == b"f" * 300_000


def test_expect_100_continue_gets_an_interim_100(h2c):
    with RawH2Client(h2c.port) as c:
        sid = c.request("/expect", method="POST", headers=[("expect", "100-continue")],
                        end=False)
        c.read_until(lambda: of(h2.events.InformationalResponseReceived, c.events, sid))
        c.send_body(sid, b"k" * 5000)
        status, _, body, _ = c.response(sid)
        interim = of(h2.events.InformationalResponseReceived, c.events, sid)
    assert dict(interim[0].headers)[b":status"] == b"100"
    assert status == 200 and body == b"got 5000"


def test_secure_scheme_header_from_a_trusted_peer(h2c):
    with RawH2Client(h2c.port) as c:
        env = json.loads(c.response(c.request("/env", headers=[("x-forwarded-proto",
                                                                 "https")]))[2])
    assert env["wsgi.url_scheme"] == "https"


def test_header_list_over_the_advertised_size_is_enhance_your_calm(small_limits, h2c):
    with RawH2Client(small_limits.port) as c:
        c.read_until(lambda: of(h2.events.RemoteSettingsChanged, c.events))
        assert c.conn.remote_settings.max_header_list_size == 4096
        c.request("/", headers=[("x-big", "b" * 8000)])
        c.read_until(lambda: c.goaway() is not None or c.closed)
        assert c.goaway() is not None
        assert c.goaway().error_code == ErrorCodes.ENHANCE_YOUR_CALM
    assert still_serves(small_limits.port)
    # The default limit (65536) takes the same header.
    with RawH2Client(h2c.port) as c:
        sid = c.request("/env", headers=[("x-big", "b" * 8000)])
        assert json.loads(c.response(sid)[2])["HTTP_X_BIG"] == "b" * 8000


def test_an_early_answer_stops_an_unfinished_upload(h2c):
    # RFC 9113 section 8.1: a complete response may end the upload with
    # RST_STREAM(NO_ERROR); the client keeps the response.
    with RawH2Client(h2c.port) as c:
        sid = c.request("/sized", method="POST", end=False)
        c.send_body(sid, b"part", end=False)
        assert c.read_until(lambda: of(h2.events.StreamReset, c.events, sid))
        assert of(h2.events.StreamReset, c.events, sid)[0].error_code == ErrorCodes.NO_ERROR
        status, _, body, _ = c.response(sid)
        assert status == 200 and body == b"y" * 1000


def test_the_rest_of_a_body_sent_right_after_an_early_answer_is_taken(h2c):
    # Not reset at once: what the client sent before it saw the answer (here the
    # end of its body) is read, and the stream simply ends.
    with RawH2Client(h2c.port) as c:
        sid = c.request("/sized", method="POST", end=False)
        assert c.read_until(lambda: of(h2.events.StreamEnded, c.events, sid))
        c.send_body(sid, b"last", end=True)
        status, _, body, _ = c.response(c.request("/sized"))
        assert status == 200 and body == b"y" * 1000
        # Past the grace a reset would have come by now.
        time.sleep(0.5)
        c.conn.ping(b"12345678")
        c.flush()
        assert c.read_until(lambda: of(h2.events.PingAckReceived, c.events))
        assert not of(h2.events.StreamReset, c.events, sid)
