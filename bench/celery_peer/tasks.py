"""tick → claim due tasks → compose → send → record, as Celery tasks.

The claim is the CRM's (SELECT … FOR UPDATE SKIP LOCKED, batches of 500, an email row
per task); each claimed task becomes ``chain(compose_email, send_email)``. Database through
SQLAlchemy Core + psycopg 3, LLM through the openai SDK, SES through boto3's sesv2.
"""

from __future__ import annotations

import json
import os
import uuid
from functools import cache
from typing import Any

import boto3
from celery import chain
from openai import OpenAI
from sqlalchemy import Engine, create_engine, text

from bench.celery_peer.app import app

BATCH = 500
SENDER = "notifications@mail.realtoros.test"

CLAIM = text(
    """
    WITH due AS (
        SELECT id FROM tasks WHERE status = 'pending' AND due_at <= now()
        ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE tasks t SET status = 'composing', updated_at = now()
        FROM due WHERE t.id = due.id
        RETURNING t.id, t.agent_id, t.client_id, t.purpose
    )
    SELECT c.id AS task_id, c.agent_id, c.client_id, c.purpose,
           cl.name AS client_name, cl.email AS client_email, cl.stage,
           a.name AS agent_name, a.email AS agent_email, a.brokerage
    FROM claimed c JOIN clients cl ON cl.id = c.client_id JOIN agents a ON a.id = c.agent_id
    """
)
NEW_EMAIL = text(
    "INSERT INTO emails (id, agent_id, client_id, task_id, status, to_email) "
    "VALUES (:email_id, :agent_id, :client_id, :task_id, 'composing', :client_email)"
)
LINK_TASK = text("UPDATE tasks SET email_id = :email_id WHERE id = :task_id")
STORE_DRAFT = text(
    "UPDATE emails SET subject = :subject, body_text = :body, status = 'sending', "
    "composer = 'llm', updated_at = clock_timestamp() WHERE id = :email_id"
)
DRAFT_TASK = text("UPDATE tasks SET status = 'sending', updated_at = now() WHERE id = :task_id")
RECORD_SENT = text(
    "UPDATE emails SET status = 'sent', provider_message_id = :message_id, transport = 'ses', "
    "sent_at = now(), updated_at = clock_timestamp() WHERE id = :email_id"
)
SENT_TASK = text("UPDATE tasks SET status = 'sent', updated_at = now() WHERE id = :task_id")
ACTIVITY = text(
    "INSERT INTO activities (id, agent_id, client_id, kind, summary, email_id, task_id, "
    "occurred_at) VALUES (:id, :agent_id, :client_id, 'email_sent', :summary, :email_id, "
    ":task_id, now())"
)


@cache
def engine() -> Engine:
    # Created lazily, so each prefork child has its own pool.
    return create_engine(os.environ["PEER_DATABASE_URL"], pool_size=2, pool_pre_ping=True)


@cache
def llm() -> OpenAI:
    return OpenAI(base_url=os.environ["PEER_LLM_URL"], api_key="bench-key", max_retries=3)


@cache
def ses() -> Any:
    return boto3.client(
        "sesv2",
        endpoint_url=os.environ["PEER_SES_URL"],
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


@app.task
def claim_due_tasks() -> int:
    """Claim batches until one comes back short; one chain per claimed task."""
    total = 0
    while True:
        with engine().begin() as conn:
            rows = [dict(r) for r in conn.execute(CLAIM, {"limit": BATCH}).mappings()]
            for row in rows:
                row["email_id"] = uuid.uuid4()
            if rows:
                conn.execute(NEW_EMAIL, rows)
                conn.execute(LINK_TASK, rows)
        for row in rows:
            payload = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in row.items()}
            chain(compose_email.s(payload), send_email.s()).apply_async()
        total += len(rows)
        if len(rows) < BATCH:
            return total


def prompt(payload: dict[str, Any]) -> str:
    first = str(payload["client_name"]).split()[0]
    return (
        f"Client first name: {first}\n"
        f"Client stage: {payload['stage']}\n"
        f"Follow-up step: {payload['purpose']}\n"
        f"Agent: {payload['agent_name']} ({payload['brokerage']})\n"
        'Answer with JSON: {"subject": ..., "body": ...}'
    )


@app.task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def compose_email(payload: dict[str, Any]) -> dict[str, Any]:
    answer = llm().chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "You write short, warm follow-up emails."},
            {"role": "user", "content": prompt(payload)},
        ],
        response_format={"type": "json_object"},
    )
    draft = json.loads(answer.choices[0].message.content or "{}")
    payload = {**payload, "subject": draft["subject"], "body": draft["body"]}
    with engine().begin() as conn:
        conn.execute(STORE_DRAFT, payload)
        conn.execute(DRAFT_TASK, payload)
    return payload


@app.task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def send_email(payload: dict[str, Any]) -> str:
    sent = ses().send_email(
        FromEmailAddress=f'"{payload["agent_name"]}" <{SENDER}>',
        Destination={"ToAddresses": [payload["client_email"]]},
        ReplyToAddresses=[payload["agent_email"]],
        Content={
            "Simple": {
                "Subject": {"Data": payload["subject"]},
                "Body": {"Text": {"Data": payload["body"]}},
            }
        },
    )
    message_id = str(sent["MessageId"])
    with engine().begin() as conn:
        conn.execute(RECORD_SENT, {**payload, "message_id": message_id})
        conn.execute(SENT_TASK, payload)
        conn.execute(
            ACTIVITY,
            {**payload, "id": uuid.uuid4(), "summary": f"Email sent: {payload['subject']}"},
        )
    return message_id
