"""Real-shaped replies, as mail programs write them, each with what it must come out as.

Quoting styles: Gmail ("On … wrote:" and ">" lines), Outlook (a "From:/Sent:/To:/Subject:"
block, no quote marks), Apple Mail ("On 24 Nov 2026, at 10:00, … wrote:"), bottom-posting;
HTML-only mail; non-UTF-8 charsets; an out-of-office; a DSN bounce; a "please stop".
"""

from __future__ import annotations

from dataclasses import dataclass

AGENT = "Sam Agent <reply+TOKEN@replies.realtoros.test>"
CLIENT = "Jane Buyer <jane.buyer@example.com>"


@dataclass(frozen=True)
class Sample:
    name: str
    raw: bytes
    kind: str  # reply, auto-reply, bounce
    text_has: str = ""
    text_lacks: str = ""
    stop: bool = False


def _mail(headers: str, body: str, charset: str = "utf-8") -> bytes:
    head = (
        f"From: {CLIENT}\r\nTo: {AGENT}\r\nSubject: Re: Checking in about 12 Oak Lane\r\n"
        f"Message-ID: <{abs(hash(body))}@mail.example.com>\r\nMIME-Version: 1.0\r\n" + headers
    )
    if "Content-Type" not in headers:
        head += (
            f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n"
        )
    return head.encode("ascii") + b"\r\n" + body.replace("\n", "\r\n").encode(charset)


GMAIL = _mail(
    "In-Reply-To: <abc@mail.example.com>\r\n",
    "Thursday at 4pm works for me. Can we see the garden too?\n\n"
    "On Tue, Nov 24, 2026 at 10:00 AM Sam Agent <sam@acme.example> wrote:\n"
    "> Hi Jane,\n>\n> Are you still thinking about Oak Lane?\n> Best,\n> Sam\n",
)
OUTLOOK = _mail(
    "",
    "Yes please, send me the disclosure pack.\n\n"
    "Jane Buyer\nSenior Analyst\n\n"
    "From: Sam Agent <sam@acme.example>\nSent: Tuesday, November 24, 2026 10:00 AM\n"
    "To: Jane Buyer <jane.buyer@example.com>\nSubject: Checking in about 12 Oak Lane\n\n"
    "Hi Jane,\n\nAre you still thinking about Oak Lane?\n",
)
APPLE = _mail(
    "",
    "Sounds great, talk soon.\n\nSent from my iPhone\n\n"
    "On 24 Nov 2026, at 10:00, Sam Agent <sam@acme.example> wrote:\n\n"
    "> Hi Jane,\n> Are you still thinking about Oak Lane?\n",
)
BOTTOM_POSTED = _mail(
    "",
    "On Tue, Nov 24, 2026 at 10:00 AM Sam Agent <sam@acme.example> wrote:\n"
    "> Are you free on Saturday?\n\nSaturday morning is perfect.\n",
)
HTML_ONLY = _mail(
    "Content-Type: text/html; charset=utf-8\r\n",
    "<html><body><p>We&#39;d love a <b>second viewing</b> next week.</p>"
    '<img src="https://tracker.example/pixel.gif"><p>Jane</p>'
    '<div class="gmail_quote">On Tue, Sam wrote:<blockquote>Hi Jane</blockquote></div>'
    "</body></html>",
)
LATIN1 = _mail("", "Très bien, à jeudi.\n\nJane\n", charset="iso-8859-1")
SHIFT_JIS = _mail("", "ありがとうございます。木曜日で大丈夫です。\n", charset="shift_jis")
BAD_CHARSET = (
    f"From: {CLIENT}\r\nTo: {AGENT}\r\nSubject: Re: hi\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=x-unknown-charset\r\n\r\n"
).encode() + b"Fine by me \xff\xfe see you then\r\n"
OUT_OF_OFFICE = _mail(
    "Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n",
    "I am out of the office until 1 December with limited access to email.\n",
)
OOO_SUBJECT_ONLY = _mail("", "I'm away until Monday.\n").replace(
    b"Subject: Re: Checking in about 12 Oak Lane", b"Subject: Automatic reply: Checking in"
)
PLEASE_STOP = _mail("", "Please stop emailing me.\n\nOn Tue, Sam wrote:\n> Hi Jane\n")
UNSUBSCRIBE = _mail("", "unsubscribe\n")
NOT_A_STOP = _mail(
    "",
    "Thanks! We found a place.\nAlso, which bus stop is nearest?\nCheers\nLine four\n"
    "Don't stop sending listings though.\n",
)
DSN = (
    "From: Mail Delivery Subsystem <mailer-daemon@example.com>\r\n"
    f"To: {AGENT}\r\nSubject: Delivery Status Notification (Failure)\r\nMIME-Version: 1.0\r\n"
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
    "--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
    "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; jane@example.com\r\n"
    "Action: failed\r\nStatus: 5.1.1\r\n\r\n--b1--\r\n"
).encode()
WITH_ATTACHMENT = (
    f"From: {CLIENT}\r\nTo: {AGENT}\r\nSubject: Re: offer\r\nMIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="m1"\r\n\r\n'
    "--m1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSigned offer attached.\r\n"
    "--m1\r\nContent-Type: application/pdf\r\n"
    'Content-Disposition: attachment; filename="offer.pdf"\r\n'
    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--m1--\r\n"
).encode()

SAMPLES = [
    Sample("gmail", GMAIL, "reply", "Thursday at 4pm works", "Are you still thinking"),
    Sample("outlook", OUTLOOK, "reply", "disclosure pack", "Are you still thinking"),
    Sample("apple-mail", APPLE, "reply", "Sounds great", "Are you still thinking"),
    Sample("bottom-posted", BOTTOM_POSTED, "reply", "Saturday morning is perfect"),
    Sample("html-only", HTML_ONLY, "reply", "second viewing", "tracker.example"),
    Sample("iso-8859-1", LATIN1, "reply", "Très bien, à jeudi"),
    Sample("shift_jis", SHIFT_JIS, "reply", "木曜日で大丈夫です"),
    Sample("unknown-charset", BAD_CHARSET, "reply", "see you then"),
    Sample("out-of-office", OUT_OF_OFFICE, "auto-reply", "out of the office"),
    Sample("out-of-office-subject", OOO_SUBJECT_ONLY, "auto-reply", "away until Monday"),
    Sample("please-stop", PLEASE_STOP, "reply", "Please stop", "Hi Jane", stop=True),
    Sample("unsubscribe", UNSUBSCRIBE, "reply", "unsubscribe", stop=True),
    Sample("stop-later-in-text", NOT_A_STOP, "reply", "We found a place"),
    Sample("dsn-bounce", DSN, "bounce"),
    Sample("attachment", WITH_ATTACHMENT, "reply", "Signed offer attached"),
]
