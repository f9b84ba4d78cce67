"""``manage.py api_token create|list|revoke``: API tokens from the command line."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from api.models import ApiToken, create_token


class Command(BaseCommand):
    help = "Create, list or revoke API tokens (one per integration, acting as its owner)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a token; prints its secret once")
        create.add_argument("--name", required=True, help="the integration's name (unique)")
        create.add_argument("--user", required=True, help="username of the owner the API acts as")
        sub.add_parser("list", help="list tokens (never their secrets)")
        revoke = sub.add_parser("revoke", help="revoke a token by name; effective at once")
        revoke.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"--user: no user named {options['user']!r}")
            if ApiToken.objects.filter(name=options["name"].strip()).exists():
                raise CommandError(f"--name: a token named {options['name']!r} exists already")
            try:
                token, secret = create_token(name=options["name"], user=user)
            except ValidationError as err:
                field, messages = next(iter(err.message_dict.items()))
                raise CommandError(f"--{field}: {' '.join(messages)}") from err
            self.stdout.write(secret)
            self.stderr.write(f"Token {token.name} for {user.username} ({user.role}); copy it now, it is not stored.")
        elif action == "list":
            for token in ApiToken.objects.select_related("user"):
                state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
                used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
                self.stdout.write(f"{token.name}\t{token.user.username}\t{token.prefix}…\t{state}\tlast used {used}")
        else:
            token = ApiToken.objects.filter(name=options["name"]).first()
            if token is None:
                raise CommandError(f"name: no token named {options['name']!r}")
            token.revoke()
            self.stdout.write(f"Token {token.name} revoked.")
