"""The Slack destination against a real local stub of the Web API and webhook."""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reportbot.destinations.base import Attempt, Key, Progress
from reportbot.destinations.slack import SlackWebApi
from reportbot.destinations.slack_api import RATE_LIMIT_RETRIES
from reportbot.destinations.webhook import SlackWebhook
from reportbot.errors import DeliveryError
from reportbot.render.slack_limits import (
    MAX_BLOCKS,
    MAX_FIELD_CHARS,
    MAX_HEADER_CHARS,
    MAX_SECTION_CHARS,
    MAX_TEXT_CHARS,
    validate_message,
)
from tests.fakes.slack_api import SlackApiStub, rendered_with

TOKEN = "xoxb-1111-2222-secretsecret"
CHANNELS = {"C0123456789": "api-usage", "C0OTHER001": "general", "C0OUTSIDE1": "finance"}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


class SlackDestination:
    """The Web API and webhook destinations behind the post(channel, messages) of old."""

    def __init__(
        self,
        *,
        token: str | None,
        base_url: str,
        webhook_url: str | None = None,
        max_retries: int = 1,
        timeout: int = 5,
    ) -> None:
        self.api = SlackWebApi(token=token, base_url=base_url, timeout=timeout)
        self.hook = SlackWebhook(webhook_url, timeout=timeout)

    def post(self, channel: str, messages: list[dict[str, Any]], *, skip: int = 0) -> str:
        attempt = Attempt(Key("weekly", "2024-W33", f"slack:{channel}"), Progress(skip))
        target = self.hook if channel == "webhook" else self.api
        return target.send(rendered_with(messages), channel, attempt).id

    def upload_chart(self, channel: str, png: bytes, filename: str, title: str) -> None:
        if channel != "webhook":  # webhooks carry no files
            self.api.upload_chart(channel, png, filename, title)

    def auth_test(self) -> str:
        return self.api.auth_test()


def message(text: str = "Weekly API costs", blocks: list[Any] | None = None) -> dict[str, Any]:
    return {"text": text, "blocks": blocks or [section("*Total* 1,234.00 credits")]}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def fields(n: int, chars: int = 10) -> dict[str, Any]:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * chars}] * n}


@pytest.fixture
def slack() -> Iterator[SlackApiStub]:
    with SlackApiStub(
        token=TOKEN, channels=CHANNELS, not_member={"C0OUTSIDE1"}, page_size=1
    ) as stub:
        yield stub


@pytest.fixture
def client(slack: SlackApiStub) -> SlackDestination:
    return SlackDestination(
        token=TOKEN, base_url=slack.url, webhook_url=slack.webhook_url, max_retries=1, timeout=5
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def delivery_error(action: Callable[[], object]) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        action()
    return caught.value


# -- posting --


def test_it_posts_to_a_channel_id(client: SlackDestination, slack: SlackApiStub) -> None:
    ts = client.post("C0123456789", [message()])
    assert [(p.channel, p.text, p.ts) for p in slack.posts] == [
        ("C0123456789", "Weekly API costs", ts)
    ]
    assert slack.posts[0].blocks == message()["blocks"]


def test_it_posts_to_a_channel_name(client: SlackDestination, slack: SlackApiStub) -> None:
    client.post("#api-usage", [message()])
    client.post("general", [message()])
    assert [p.channel for p in slack.posts] == ["C0123456789", "C0OTHER001"]


def test_it_posts_several_messages_in_order_and_returns_the_first_ts(
    client: SlackDestination, slack: SlackApiStub
) -> None:
    ts = client.post("#api-usage", [message("one"), message("two"), message("three")])
    assert [p.text for p in slack.posts] == ["one", "two", "three"]
    assert ts == slack.posts[0].ts
    assert [p.thread_ts for p in slack.posts] == [None, ts, ts]  # the rest in its thread


def test_with_thread_off_every_message_is_top_level(slack: SlackApiStub) -> None:
    api = SlackWebApi(token=TOKEN, base_url=slack.url)
    attempt = Attempt(Key("weekly", "2024-W33", "slack:#api-usage"), thread=False)
    api.send(rendered_with([message("one"), message("two")]), "#api-usage", attempt)
    assert [p.thread_ts for p in slack.posts] == [None, None]


def test_it_checks_every_message_before_posting_any(
    client: SlackDestination, slack: SlackApiStub
) -> None:
    error = delivery_error(lambda: client.post("#api-usage", [message(), {"blocks": []}]))
    assert error.permanent
    assert "text fallback" in str(error)
    assert slack.posts == []


def test_a_failure_midway_says_how_many_messages_were_already_posted(
    client: SlackDestination, slack: SlackApiStub
) -> None:
    slack.fail_next("chat.postMessage", error="is_archived", after=1)
    error = delivery_error(lambda: client.post("#api-usage", [message("one"), message("two")]))
    assert error.permanent
    assert "1 of 2 messages were already posted" in str(error)
    assert [p.text for p in slack.posts] == ["one"]


def test_it_posts_to_the_webhook(client: SlackDestination, slack: SlackApiStub) -> None:
    assert client.post("webhook", [message("one"), message("two")]) == "webhook"
    assert [(p.channel, p.text) for p in slack.posts] == [("webhook", "one"), ("webhook", "two")]
    assert slack.calls == ["webhook", "webhook"]


def test_the_webhook_works_without_a_bot_token(slack: SlackApiStub) -> None:
    client = SlackDestination(token=None, base_url=slack.url, webhook_url=slack.webhook_url)
    client.post("webhook", [message()])
    client.upload_chart("webhook", PNG, "chart.png", "Chart")  # webhooks carry no files
    assert len(slack.posts) == 1
    assert slack.uploads == []


def test_a_webhook_404_no_service_is_permanent(
    client: SlackDestination, slack: SlackApiStub
) -> None:
    slack.fail_next("webhook", status=404, error="no_service")
    error = delivery_error(lambda: client.post("webhook", [message()]))
    assert error.permanent
    assert "no_service" in str(error)
    assert "SLACK_WEBHOOK_URL" in str(error)


def test_a_webhook_that_keeps_failing_with_5xx_is_not_permanent(
    client: SlackDestination, slack: SlackApiStub
) -> None:
    slack.fail_next("webhook", status=500, times=5)
    error = delivery_error(lambda: client.post("webhook", [message()]))
    assert not error.permanent
    assert error.ambiguous  # a webhook cannot be read back: never re-sent blindly
    assert slack.calls == ["webhook"]


def test_without_a_token_a_channel_is_a_permanent_error(slack: SlackApiStub) -> None:
    client = SlackDestination(token=None, base_url=slack.url)
    error = delivery_error(lambda: client.post("#api-usage", [message()]))
    assert error.permanent
    assert "SLACK_BOT_TOKEN is not set" in str(error)
    assert slack.calls == []


def test_without_a_webhook_url_the_webhook_is_a_permanent_error(slack: SlackApiStub) -> None:
    client = SlackDestination(token=TOKEN, base_url=slack.url)
    assert delivery_error(lambda: client.post("webhook", [message()])).permanent


# -- errors Slack answers --


@pytest.mark.parametrize(
    ("token", "channel", "expected"),
    [
        ("xoxb-wrong", "#api-usage", "Slack rejected SLACK_BOT_TOKEN (invalid_auth)"),
        (TOKEN, "#no-such-channel", "check the channel name or id"),
        (TOKEN, "C0NOSUCH99", "check the channel name or id"),
        (TOKEN, "#finance", "invite the bot with /invite @reportbot"),
    ],
)
def test_configuration_errors_are_permanent_with_a_hint(
    slack: SlackApiStub, token: str, channel: str, expected: str
) -> None:
    client = SlackDestination(token=token, base_url=slack.url)
    error = delivery_error(lambda: client.post(channel, [message()]))
    assert error.permanent
    assert expected in str(error)
    assert "\n" not in str(error)
    assert slack.calls == ["chat.postMessage"]  # never retried


def test_a_missing_scope_names_the_scope(client: SlackDestination, slack: SlackApiStub) -> None:
    slack.fail_next("files.completeUploadExternal", error="missing_scope")
    error = delivery_error(lambda: client.upload_chart("C0123456789", PNG, "c.png", "Chart"))
    assert error.permanent
    assert "files:write" in str(error)


def test_auth_test_names_the_team_and_the_bot(client: SlackDestination) -> None:
    assert client.auth_test() == "Test Team / reportbot"


def test_auth_test_with_a_revoked_token_is_permanent(slack: SlackApiStub) -> None:
    slack.fail_next("auth.test", error="token_revoked")
    client = SlackDestination(token=TOKEN, base_url=slack.url)
    error = delivery_error(client.auth_test)
    assert error.permanent
    assert "(token_revoked)" in str(error)


# -- retries --


def test_a_429_is_retried_after_retry_after(client: SlackDestination, slack: SlackApiStub) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
    client.post("#api-usage", [message()])
    assert slack.calls == ["chat.postMessage", "chat.postMessage"]
    assert len(slack.posts) == 1


def test_a_429_that_persists_is_not_permanent(
    client: SlackDestination, slack: SlackApiStub
) -> None:
    slack.fail_next("chat.postMessage", error="ratelimited", times=RATE_LIMIT_RETRIES + 1)
    error = delivery_error(lambda: client.post("#api-usage", [message()]))
    assert not error.permanent
    assert "ratelimited" in str(error)
    assert slack.calls.count("chat.postMessage") == RATE_LIMIT_RETRIES + 1


def test_a_503_is_retried_after_looking_that_it_did_not_arrive(
    client: SlackDestination, slack: SlackApiStub
) -> None:
    slack.fail_next("chat.postMessage", status=503)
    client.post("#api-usage", [message()])
    assert len(slack.posts) == 1
    assert slack.calls == [
        "chat.postMessage",
        "conversations.list",
        "conversations.history",
        "chat.postMessage",
    ]


def test_a_503_that_persists_is_not_permanent(
    client: SlackDestination, slack: SlackApiStub
) -> None:
    slack.fail_next("chat.postMessage", status=503, times=5)
    error = delivery_error(lambda: client.post("#api-usage", [message()]))
    assert not error.permanent
    assert "HTTP 503" in str(error)
    assert slack.calls.count("chat.postMessage") == SlackWebApi.POST_ATTEMPTS
    assert slack.posts == []


def test_a_refused_connection_is_not_permanent() -> None:
    client = SlackDestination(token=TOKEN, base_url=f"http://127.0.0.1:{free_port()}/api/")
    error = delivery_error(lambda: client.post("#api-usage", [message()]))
    assert not error.permanent
    assert "could not be reached" in str(error)


def test_a_timeout_is_not_permanent_though_slack_may_have_posted(slack: SlackApiStub) -> None:
    client = SlackDestination(token=TOKEN, base_url=slack.url, timeout=1)
    slack.fail_next("chat.postMessage", delay=1.5)
    error = delivery_error(lambda: client.post("#api-usage", [message()]))
    assert not error.permanent
    assert "did not answer in time" in str(error)
    assert error.ambiguous
    # a read timeout is not posted again: Slack may still be posting it
    assert slack.calls == ["chat.postMessage", "conversations.list", "conversations.history"]
    time.sleep(0.7)
    assert len(slack.posts) == 1  # ...as it did


# -- charts --


def test_it_uploads_a_chart_resolving_the_channel_name_across_pages(
    client: SlackDestination, slack: SlackApiStub
) -> None:
    client.upload_chart("#general", PNG, "costs.png", "API costs")
    assert [(u.channel, u.filename, u.title, u.data) for u in slack.uploads] == [
        ("C0OTHER001", "costs.png", "API costs", PNG)
    ]
    assert slack.calls == ["conversations.list"] * 2 + [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


def test_channel_names_are_resolved_once(client: SlackDestination, slack: SlackApiStub) -> None:
    client.upload_chart("#general", PNG, "a.png", "A")
    client.upload_chart("#general", PNG, "b.png", "B")
    client.post("#api-usage", [message()])
    client.upload_chart("#api-usage", PNG, "c.png", "C")  # id learnt from chat.postMessage
    assert slack.calls.count("conversations.list") == 2
    assert [u.channel for u in slack.uploads] == ["C0OTHER001", "C0OTHER001", "C0123456789"]


def test_a_chart_for_an_unknown_channel_name_is_permanent(client: SlackDestination) -> None:
    error = delivery_error(lambda: client.upload_chart("#nope", PNG, "c.png", "C"))
    assert error.permanent
    assert "channel #nope not found or the bot is not in it" in str(error)


def test_a_failing_upload_step_is_not_permanent(
    client: SlackDestination, slack: SlackApiStub
) -> None:
    slack.fail_next("upload", status=500)
    error = delivery_error(lambda: client.upload_chart("C0123456789", PNG, "c.png", "C"))
    assert not error.permanent
    assert slack.uploads == []


# -- secrets --


def test_no_secret_appears_in_any_error_or_log(
    slack: SlackApiStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    dead_hook = f"http://127.0.0.1:{free_port()}/webhook/T000/B000/deadhooksecret"
    good = SlackDestination(
        token=TOKEN, base_url=slack.url, webhook_url=slack.webhook_url, max_retries=1
    )
    dead = SlackDestination(
        token=TOKEN, base_url=f"http://127.0.0.1:{free_port()}/api/", webhook_url=dead_hook
    )
    slack.fail_next("webhook", status=404, error="no_service")
    slack.fail_next("chat.postMessage", status=503, times=SlackWebApi.POST_ATTEMPTS)
    slack.fail_next("files.completeUploadExternal", error="invalid_auth")
    errors = [
        delivery_error(lambda: good.post("webhook", [message()])),
        delivery_error(lambda: good.post("#api-usage", [message()])),
        delivery_error(lambda: good.upload_chart("#api-usage", PNG, "c.png", "C")),
        delivery_error(lambda: dead.post("webhook", [message()])),
        delivery_error(lambda: dead.post("#api-usage", [message()])),
    ]
    assert all("\n" not in str(e) for e in errors)
    for secret in (TOKEN, slack.webhook_url, dead_hook, "deadhooksecret"):
        assert not any(secret in str(e) for e in errors)
        assert secret not in caplog.text


# -- the stub enforces Slack's limits --


def raw_post(slack: SlackApiStub, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{slack.url}chat.postMessage",
        data=json.dumps({"channel": "C0123456789", **body}).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return dict(json.load(response))


OVER_LIMIT = [
    ({"blocks": [section("hi")]}, "no_text"),
    ({"text": "x" * 40_001}, "msg_too_long"),
    ({"text": "t", "blocks": [section("s")] * 51}, "invalid_blocks"),
    ({"text": "t", "blocks": [section("x" * 3001)]}, "invalid_blocks"),
    ({"text": "t", "blocks": [header("x" * 151)]}, "invalid_blocks"),
    ({"text": "t", "blocks": [fields(11)]}, "invalid_blocks"),
    ({"text": "t", "blocks": [fields(1, chars=2001)]}, "invalid_blocks"),
    ({"text": "t", "blocks": [{**section("s"), "block_id": "b" * 256}]}, "invalid_blocks"),
    ({"text": "t", "blocks": [section("x" * 3000)] * 5}, "msg_blocks_too_long"),
]


@pytest.mark.parametrize(("body", "error"), OVER_LIMIT)
def test_the_stub_rejects_a_message_over_slacks_limits(
    slack: SlackApiStub, body: dict[str, Any], error: str
) -> None:
    assert raw_post(slack, body) == {"ok": False, "error": error}
    assert slack.posts == []


def test_the_stub_accepts_a_message_at_slacks_limits(slack: SlackApiStub) -> None:
    blocks = [header("x" * 150), section("x" * 3000), fields(10, chars=200)] + [section("s")] * 47
    assert raw_post(slack, {"text": "t", "blocks": blocks})["ok"] is True


# -- validate_message --


@pytest.mark.parametrize(
    ("msg", "problem"),
    [
        ({"blocks": [section("hi")]}, "text fallback"),
        ({"text": "   "}, "text fallback"),
        ({"text": "x" * (MAX_TEXT_CHARS + 1)}, "text is over"),
        ({"text": "t", "blocks": [section("s")] * (MAX_BLOCKS + 1)}, "51 blocks"),
        ({"text": "t", "blocks": [section("x" * (MAX_SECTION_CHARS + 1))]}, "over 3000 characters"),
        ({"text": "t", "blocks": [header("x" * (MAX_HEADER_CHARS + 1))]}, "over 150 characters"),
        ({"text": "t", "blocks": [fields(11)]}, "over 10 fields"),
        ({"text": "t", "blocks": [fields(1, MAX_FIELD_CHARS + 1)]}, "a field over 2000"),
        ({"text": "t", "blocks": [{**section("s"), "block_id": "b" * 256}]}, "block_id too long"),
        ({"text": "t", "blocks": [{"type": "section"}]}, "needs text or fields"),
        ({"text": "t", "blocks": [{"type": "context", "elements": [{}] * 11}]}, "over 10 elements"),
        ({"text": "t", "blocks": [section("x" * 2500)] * 5}, "characters of text"),
    ],
)
def test_validate_message_catches_each_limit(msg: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        validate_message(msg)


def test_validate_message_accepts_a_message_at_the_limits() -> None:
    blocks = [
        header("x" * MAX_HEADER_CHARS),
        section("x" * MAX_SECTION_CHARS),
        fields(10, chars=200),
    ] + [section("s")] * (MAX_BLOCKS - 3)
    validate_message({"text": "x" * MAX_TEXT_CHARS, "blocks": blocks})




def test_a_reply_to_a_deleted_message_is_still_posted_once(slack: SlackApiStub) -> None:
    api = SlackWebApi(token=TOKEN, base_url=slack.url)
    key = Key("weekly", "2024-W33~fix-abc", "slack:#api-usage")
    attempt = Attempt(key, Progress(verify=True), reply_to="1700000000.000001")
    receipt = api.send(rendered_with([message("correction")]), "#api-usage", attempt)
    assert receipt.id == slack.posts[0].ts
    assert "conversations.replies" in slack.calls  # looked in the (gone) thread first
    assert [p.thread_ts for p in slack.posts] == ["1700000000.000001"]


def test_a_webhook_reset_after_slack_took_it_is_not_sent_again_in_the_run(
    client: SlackDestination, slack: SlackApiStub
) -> None:
    slack.fail_next("webhook", mode="reset")
    error = delivery_error(lambda: client.post("webhook", [message()]))
    assert error.ambiguous and not error.permanent
    assert slack.calls == ["webhook"]  # slack-sdk's connection retry would have sent it twice
    assert len(slack.posts) == 1
