"""A Flask app served over uwsgi with nginx in front."""

import httpx
import pytest
from stacks import Stack

pytest.importorskip("flask", reason="Flask not installed: pip install flask")
pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module", params=["tcp", "unix"])
def stack(request):
    with Stack(request.param, "flask_app:app") as running:
        yield running


@pytest.fixture
def client(stack):
    with httpx.Client(base_url=stack.url(), timeout=20) as session:
        yield session


def test_route_with_query(stack, client):
    got = client.get("/hello/b%C3%B6b", params=[("q", "1"), ("q", "zwei")]).json()
    assert got["name"] == "b\u00f6b"
    assert got["q"] == ["1", "zwei"]
    assert got["scheme"] == "http"
    assert got["remote"] == "127.0.0.1"
    # werkzeug gives the URL as an IRI
    assert got["url"] == f"http://127.0.0.1:{stack.nginx.port}/hello/b\u00f6b?q=1&q=zwei"


def test_https_behind_nginx(stack, client):
    # The /secure/ location sets `uwsgi_param HTTPS on`; Flask must see https URLs.
    got = client.get("/secure/whoami").json()
    assert got == {"scheme": "https", "secure": True,
                   "url": f"https://127.0.0.1:{stack.nginx.port}/secure/whoami"}


def test_client_cannot_claim_https(client):
    got = client.get("/hello/x", headers={"X-Forwarded-Proto": "https"}).json()
    # A client-sent X-Forwarded-Proto does not override what nginx said.
    assert got["scheme"] == "http"


def test_form_post(client):
    response = client.post("/form", data={"a": "1", "b": ["x", "y"]})
    assert response.json() == {"fields": {"a": ["1"], "b": ["x", "y"]},
                               "length": len("a=1&b=x&b=y")}


def test_json_post_chunked(client):
    payload = b'{"items": [' + b",".join(b"%d" % i for i in range(20000)) + b"]}"
    response = client.post("/json", content=iter([payload[:1000], payload[1000:]]),
                           headers={"Content-Type": "application/json"})
    assert response.json()["size"] == len(payload)
    assert response.json()["got"]["items"][-1] == 19999


def test_redirect_uses_the_client_facing_host(stack, client):
    response = client.get("/redirect")
    assert response.status_code == 302
    assert response.headers["location"] in ("/hello/there",
                                            f"http://127.0.0.1:{stack.nginx.port}/hello/there")


def test_url_for_under_a_script_name(stack, client):
    # nginx mounts the app at /mount with `uwsgi_param SCRIPT_NAME /mount`.
    response = client.get("/mount/redirect")
    assert response.status_code == 302
    assert response.headers["location"] in ("/mount/hello/there",
                                            f"http://127.0.0.1:{stack.nginx.port}/mount/hello/there")


def test_not_found(client):
    assert client.get("/nope").status_code == 404
