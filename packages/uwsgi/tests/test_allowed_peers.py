"""uwsgi_allow_ips applied to peers (gunicorn.uwsgi.allowed_peers)."""

import pytest

from gunicorn.uwsgi.allowed_peers import PeerAllowList, allow_list_for


@pytest.mark.parametrize("setting, peer, allowed", [
    (["127.0.0.1", "::1"], ("127.0.0.1", 5000), True),
    (["127.0.0.1", "::1"], ("::1", 5000, 0, 0), True),
    (["127.0.0.1", "::1"], ("10.0.0.1", 5000), False),
    (["10.0.0.0/8"], ("10.9.8.7", 1), True),
    (["10.0.0.0/8"], ("11.0.0.1", 1), False),
    (["*"], ("203.0.113.9", 1), True),
    ("127.0.0.1, 192.168.0.0/16", ("192.168.1.1", 1), True),
    ("127.0.0.1", ("::ffff:127.0.0.1", 1, 0, 0), True),
    (["fe80::/10"], ("fe80::1%eth0", 1, 0, 2), True),
    ([], ("127.0.0.1", 1), False),
    (None, ("127.0.0.1", 1), False),
    ([], ("not-an-ip", 1), False),
])
def test_tcp_peers(setting, peer, allowed):
    assert allow_list_for(setting).allows(peer) is allowed


@pytest.mark.parametrize("peer", ["", "/run/app.sock", b"", None])
def test_unix_socket_peers_are_always_allowed(peer):
    assert allow_list_for([]).allows(peer)


def test_bad_entry_is_reported():
    with pytest.raises(ValueError, match="nope"):
        PeerAllowList(["nope"])


def test_parsed_once_per_setting_value():
    assert allow_list_for(["127.0.0.1"]) is allow_list_for(("127.0.0.1",))
