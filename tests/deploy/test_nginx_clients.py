"""nginx groups clients as the collector does (an IPv4 address, an IPv6 /64) and listens on IPv6 too."""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from deploy.render_nginx import client_key_map
from tests.deploy.client import fetch
from tests.deploy.nginx_server import MAIN_CONF, NGINX, _wait_for_port
from tests.support.net import free_port
from tests.support.servers import stop_process_group

ECHO_SITE = """\
{key_map}
server {{
    listen 127.0.0.1:{port};
    location / {{
        default_type text/plain;
        return 200 "$ami_client";
    }}
}}
"""


@pytest.fixture(scope="module")
def echo(tmp_path_factory):
    """Real nginx with the template's own map, fed from a request header instead of the peer
    address (on loopback every peer is 127.0.0.1 or ::1); answers with the client key."""
    work = str(tmp_path_factory.mktemp("nginx-echo"))
    port = free_port()
    with open(os.path.join(work, "site.conf"), "w", encoding="utf-8") as handle:
        handle.write(ECHO_SITE.format(key_map=client_key_map("$http_x_client"), port=port))
    main_conf = os.path.join(work, "nginx.conf")
    with open(main_conf, "w", encoding="utf-8") as handle:
        handle.write(MAIN_CONF.format(user="user root;" if os.geteuid() == 0 else "", work=work))
    process = subprocess.Popen([NGINX, "-p", work, "-c", main_conf, "-e", os.path.join(work, "error.log"),
                                "-g", "daemon off;"], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process, work)
        yield lambda address: fetch(f"http://127.0.0.1:{port}/", headers={"X-Client": address}).text
    finally:
        stop_process_group(process, signal.SIGQUIT, timeout=10)


def first_four_groups(address: ipaddress.IPv6Address) -> str:
    return ":".join(f"{int(address) >> (112 - 16 * i) & 0xFFFF:x}" for i in range(4))


@pytest.mark.parametrize("address, key", [
    ("192.0.2.1", "192.0.2.1"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2"),
    ("2001:db8:1:2::6", "2001:db8:1:2"),
    ("2001:db8:1::6", "2001:db8:1:0"),
    ("2001:db8::1:2:3:4", "2001:db8:0:0"),
    ("2001::1:2:3:4:5", "2001:0:0:1"),
    ("::1:2:3:4:5:6", "0:0:1:2"),
    ("::1", "0:0:0:0"),
    ("::", "0:0:0:0"),
    ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
])
def test_the_client_key_is_the_ipv4_address_or_the_ipv6_slash_64(echo, address, key):
    assert echo(address) == key


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(address=st.one_of(st.ip_addresses(v=6),
                         st.builds(lambda prefix, suffix: ipaddress.IPv6Address(prefix << 64 | suffix),
                                   st.sampled_from([0, 1, 0x20010DB8 << 32, 0x20010DB8_00000001, 1 << 48]),
                                   st.sampled_from([0, 1, 0xFFFF, 1 << 48, (1 << 64) - 1]))))
def test_every_ipv6_address_as_nginx_writes_it_maps_to_its_slash_64(echo, address):
    if address.ipv4_mapped is not None:
        return
    # Python writes an address as nginx does (RFC 5952: lower case, longest zero run as ::).
    assert echo(address.compressed) == first_four_groups(address)


def test_the_site_answers_over_ipv6(stack):
    port = stack.nginx.https_url.rsplit(":", 1)[1]
    reply = fetch(f"https://[::1]:{port}/contacts/", cafile=stack.nginx.certificate)
    assert reply.status == 200 and "Contacts" in reply.text
    http_port = stack.nginx.http_url.rsplit(":", 1)[1]
    assert fetch(f"http://[::1]:{http_port}/contacts/").status == 301


def test_the_rendered_site_keys_its_post_limits_on_the_client_group(stack):
    site = stack.nginx.site_conf
    assert "map $remote_addr $ami_client {" in site
    assert "POST    $ami_client;" in site
    assert "limit_req_zone $ami_post_client zone=ami_candidater" in site
