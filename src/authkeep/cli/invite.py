"""`authkeep invite EMAIL`: invite a person from the command line, as
`POST /user_management/invitations` does. The invitation mail is enqueued in the same
transaction (the running server's sender delivers it; `authkeep dev` shows it in its dev mailbox)
and the accept URL is printed, so it can also be handed over another way."""

from __future__ import annotations

import argparse
import json
from typing import Any

from authkeep.cli.common import (
    data_options,
    environment_for,
    resolve_target,
    run_db,
    server_imports,
)
from authkeep.cli.tokens import _base_url


def cmd_invite(args: argparse.Namespace) -> int:
    server_imports()
    from authkeep.services import invitations

    target = resolve_target(args)
    base_url = _base_url(target)

    async def work(session: Any, box: Any) -> dict[str, Any]:
        environment = await environment_for(session, target, args.env)
        invitation = await invitations.send_invitation(
            session,
            environment,
            box,
            base_url,
            invitations.NewInvitation(
                email=args.email,
                organization_id=args.org,
                role_slug=args.role,
                expires_in_days=args.expires_in_days,
            ),
        )
        return {
            "id": invitation.id,
            "email": invitation.email,
            "organization_id": invitation.organization_id,
            "role_slug": invitation.role_slug,
            "expires_at": invitation.expires_at.isoformat(),
            "accept_invitation_url": invitations.accept_url(
                base_url, invitations.token_of(box, invitation)
            ),
        }

    result = run_db(target.settings, work)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(result["accept_invitation_url"])
    return 0


def register(commands: Any) -> None:
    invite = commands.add_parser(
        "invite",
        help="invite a person by e-mail and print the accept URL",
        description="Creates an invitation (optionally to an organization with a role), "
        "enqueues the invitation e-mail and prints its accept URL.",
    )
    invite.add_argument("email", metavar="EMAIL")
    invite.add_argument("--org", metavar="ORG_ID", help="organization the person joins")
    invite.add_argument("--role", metavar="ROLE", help="role slug in that organization")
    invite.add_argument("--expires-in-days", type=int, metavar="N", help="1 to 30 (default 7)")
    invite.add_argument("--json", action="store_true", help="print the invitation as JSON")
    data_options(invite)
    invite.set_defaults(handler=cmd_invite)
