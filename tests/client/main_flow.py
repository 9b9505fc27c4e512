"""Drive the main flow with a client generated from the served OpenAPI document
by a standard generator (openapi-python-client), unmodified: what an integrator
does. Run by .ci/run against a fresh server:

    python main_flow.py http://127.0.0.1:PORT ADMIN_PASSWORD

Any exception (a missing operation, a response the generated models cannot
read) fails CI.
"""

import sys
import uuid

from madoguchi_client import AuthenticatedClient, Client
from madoguchi_client.api.auth import login, me
from madoguchi_client.api.board import (
    create_post,
    create_thread,
    get_thread,
    list_posts,
    list_sla_events,
    list_threads,
    queue,
    search,
    update_thread,
)
from madoguchi_client.api.organizations import create_organization
from madoguchi_client.api.users import create_user
from madoguchi_client.models import (
    CreateOrganization,
    CreatePost,
    CreateThread,
    CreateUser,
    LoginRequest,
    PriorityDto,
    RoleDto,
    StatusDto,
    UpdateThread,
    VisibilityDto,
)
from madoguchi_client.types import UNSET


def ok(response, what):
    if response.parsed is None or response.status_code.value >= 300:
        raise SystemExit(f"{what}: {response.status_code} {response.content[:500]!r}")
    return response.parsed


def sign_in(base, email, password):
    anon = Client(base_url=base)
    token = ok(
        login.sync_detailed(client=anon, body=LoginRequest(email=email, password=password)),
        f"login {email}",
    )
    return AuthenticatedClient(base_url=base, token=token.access_token)


def main(base, admin_password):
    admin = sign_in(base, "admin@localhost", admin_password)
    assert ok(me.sync_detailed(client=admin), "me").role == RoleDto.ADMIN

    suffix = uuid.uuid4().hex[:8]
    org = ok(
        create_organization.sync_detailed(
            client=admin, body=CreateOrganization(name=f"さくら内科クリニック {suffix}")
        ),
        "create organization",
    )
    password = "correct horse battery staple"
    ok(
        create_user.sync_detailed(
            client=admin,
            body=CreateUser(
                email=f"tanaka-{suffix}@sakura.example.jp",
                display_name="田中 花子",
                role=RoleDto.CUSTOMER,
                organization_id=org.id,
                password=password,
            ),
        ),
        "create customer",
    )
    ok(
        create_user.sync_detailed(
            client=admin,
            body=CreateUser(
                email=f"sato-{suffix}@vendor.example.jp",
                display_name="佐藤 一郎",
                role=RoleDto.AGENT,
                password=password,
            ),
        ),
        "create agent",
    )
    clinic = sign_in(base, f"tanaka-{suffix}@sakura.example.jp", password)
    agent = sign_in(base, f"sato-{suffix}@vendor.example.jp", password)

    thread = ok(
        create_thread.sync_detailed(
            client=clinic,
            body=CreateThread(
                title="予約画面が開きません",
                body="今朝から予約システムにログインできません。",
                priority=PriorityDto.HIGH,
            ),
        ),
        "create thread",
    )
    due = thread.sla.first_response.due_at
    assert due is not None, "a new thread says when its answer is due"
    print(f"thread {thread.number}: first answer due {due.isoformat()}")

    ok(
        create_post.sync_detailed(
            thread.number,
            client=agent,
            body=CreatePost(body="ただいま確認しております。", visibility=VisibilityDto.PUBLIC),
        ),
        "reply",
    )
    read = get_thread.sync_detailed(thread.number, client=agent)
    current = ok(read, "read thread")
    etag = read.headers["etag"]
    changed = ok(
        update_thread.sync_detailed(
            thread.number,
            client=agent,
            body=UpdateThread(status=StatusDto.PENDING),
            if_match=etag,
        ),
        "change status",
    )
    assert changed.status == StatusDto.PENDING and changed.version == current.version + 1

    posts = ok(list_posts.sync_detailed(thread.number, client=clinic), "list posts")
    assert [p.body for p in posts.items][-1] == "ただいま確認しております。"
    threads = ok(list_threads.sync_detailed(client=clinic), "list threads")
    assert any(t.number == thread.number for t in threads.items)
    assert threads.next_cursor in (None, UNSET)
    ok(queue.sync_detailed(client=agent), "queue")
    hits = ok(search.sync_detailed(client=clinic, q="予約"), "search")
    assert any(h.number == thread.number for h in hits.items)
    events = ok(list_sla_events.sync_detailed(thread.number, client=agent), "clock log")
    assert any(e.event == "met" for e in events)
    print("generated client: main flow ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
