"""A TLS configuration that cannot work fails at start naming its setting (upstream 27.0.1
starts and then fails every handshake; an encrypted key made OpenSSL prompt on the tty)."""

import ssl
import subprocess
from types import SimpleNamespace

import pytest
from gunicorn_testsupport import free_port, run_gunicorn

from gunicorn import sock

pytestmark = pytest.mark.timeout(60)


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    subj = ["-subj", "/CN=localhost", "-days", "2", "-nodes"]
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-keyout", "key.pem", "-out", "cert.pem", *subj, cwd=d)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-keyout", "other_key.pem", "-out", "other_cert.pem", *subj, cwd=d)
    _openssl("pkey", "-in", "key.pem", "-aes256", "-passout", "pass:secret",
             "-out", "encrypted_key.pem", cwd=d)
    (d / "both.pem").write_text((d / "cert.pem").read_text() + (d / "key.pem").read_text())
    return d


def make_conf(pki, **overrides):
    conf = dict(certfile=str(pki / "cert.pem"), keyfile=str(pki / "key.pem"), ca_certs=None,
                cert_reqs=ssl.CERT_NONE, ciphers=None, http_protocols=["h1"], is_ssl=True,
                ssl_context=lambda conf, factory: factory())
    conf.update(overrides)
    return SimpleNamespace(**conf)


def test_good_configuration_passes(pki):
    sock.check_tls_files(make_conf(pki))
    sock.check_tls_files(make_conf(pki, certfile=str(pki / "both.pem"), keyfile=None))


@pytest.mark.parametrize("overrides, setting, words", [
    ({"keyfile": "other_key.pem"}, "keyfile", "KEY_VALUES_MISMATCH"),
    ({"keyfile": "encrypted_key.pem"}, "keyfile", "encrypted"),
    ({"certfile": "key.pem"}, "certfile", "PEM"),
    ({"keyfile": None}, "certfile", "no private key in it: set keyfile"),
    ({"ciphers": "NO-SUCH-CIPHER"}, "ciphers", "No cipher can be selected"),
    ({"ca_certs": "key.pem", "cert_reqs": ssl.CERT_REQUIRED}, "ca_certs", "NO_CERTIFICATE"),
    ({"ca_certs": "missing.pem"}, "ca_certs", "does not exist"),
    ({"cert_reqs": 3}, "cert_reqs", "verify_mode"),
])
def test_broken_configuration_names_its_setting(pki, overrides, setting, words):
    for name in ("certfile", "keyfile", "ca_certs"):
        if overrides.get(name):
            overrides[name] = str(pki / overrides[name])
    with pytest.raises(RuntimeError, match=f"^Invalid value for {setting}: ") as info:
        sock.check_tls_files(make_conf(pki, **overrides))
    assert words in str(info.value)


def test_keyfile_without_certfile(pki):
    with pytest.raises(RuntimeError, match="^Invalid value for certfile: .*certfile is required"):
        sock.check_tls_files(make_conf(pki, certfile=None))


def test_failing_or_wrong_hook(pki):
    def failing(conf, factory):
        raise LookupError("no such vault entry")

    with pytest.raises(RuntimeError, match="^ssl_context hook failed: no such vault entry"):
        sock.check_tls_files(make_conf(pki, ssl_context=failing))
    with pytest.raises(RuntimeError, match="must return an ssl.SSLContext, not dict"):
        sock.check_tls_files(make_conf(pki, ssl_context=lambda conf, factory: {}))


def test_hook_may_load_an_encrypted_key_itself(pki):
    def hook(conf, factory):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(conf.certfile, conf.keyfile, password="secret")
        return context

    sock.check_tls_files(make_conf(pki, keyfile=str(pki / "encrypted_key.pem"), ssl_context=hook))


def test_encrypted_key_never_prompts_at_runtime(pki):
    # the worker-side factory refuses too, instead of OpenSSL reading a passphrase from the tty
    with pytest.raises(sock.EncryptedKeyError):
        sock.ssl_context(make_conf(pki, keyfile=str(pki / "encrypted_key.pem")))


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_server_exits_at_start_with_one_error_line(pki, tmp_path, worker):
    (tmp_path / "app.py").write_text(
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'']\n")
    result = run_gunicorn(tmp_path, "-k", worker, "-b", f"127.0.0.1:{free_port()}",
                          "--no-control-socket", "--certfile", str(pki / "cert.pem"),
                          "--keyfile", str(pki / "other_key.pem"), "app:app", timeout=30)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if "Invalid value for keyfile" in line]
    assert len(errors) == 1, result.stderr
    assert "KEY_VALUES_MISMATCH" in errors[0]
    assert "Traceback" not in result.stderr
    assert "Booting worker" not in result.stderr
