"""The statements that record a follow-up's draft and send: a handful of round trips per
event instead of one per row, and no ORM objects.

Built once at import as ``text()``: SQLAlchemy caches their compiled form and asyncpg its
prepared statement per connection, so an event pays neither a compilation nor a plan.
``LOCK_EMAIL`` writes the inbox row and locks the email and its task in one statement; the
writes of the effect then go in a second one (CTEs), the timeline entry last.
"""

from __future__ import annotations

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from realtoros_crm.messaging.inbox import FIRST_DELIVERY_CTE
from realtoros_crm.tasks.models import OPEN_STATUSES

# The email and its task locked (email first, as ``lock_email``) once the inbox row is in;
# always one row: ``fresh`` is 0 for a redelivery, the email columns NULL when there is no
# such email. FOR UPDATE lives in the CTE, where the outer join cannot reach it.
LOCK_EMAIL = text(
    f"WITH {FIRST_DELIVERY_CTE}, "
    "locked AS ("
    " SELECT e.agent_id, e.client_id, e.task_id, e.status, e.subject,"
    " (e.edited_at IS NOT NULL OR e.approved_at IS NOT NULL) AS touched,"
    " e.held_at IS NOT NULL AS held, t.plan_run_id"
    " FROM emails e JOIN tasks t ON t.id = e.task_id"
    " WHERE e.id = :email_id AND EXISTS (SELECT FROM first_delivery)"
    " FOR UPDATE OF e, t) "
    "SELECT (SELECT count(*) FROM first_delivery) AS fresh, locked.*"
    " FROM (VALUES (1)) AS one LEFT JOIN locked ON true"
)

_ACTIVITY = (
    "INSERT INTO activities"
    " (id, agent_id, client_id, kind, summary, occurred_at, email_id, task_id)"
    " VALUES (:activity_id, :agent_id, :client_id, :kind, :summary, :occurred_at,"
    " :email_id, :task_id)"
)

# The draft on the email; the email and its task move on only from ``composing``
# (``:move``), and then lose any failure reason, as ``Locked.set_status`` does.
STORE_DRAFT = text(
    "WITH draft AS ("
    " UPDATE emails SET subject = :subject, body_text = :body_text, composer = :composer,"
    " model = :model, needs_review = :needs_review, review_reasons = :review_reasons,"
    " updated_at = :now,"
    " status = CASE WHEN :move THEN :status ELSE status END,"
    " failure_reason = CASE WHEN :move THEN NULL ELSE failure_reason END"
    " WHERE id = :email_id), "
    "task AS ("
    " UPDATE tasks SET status = :status, updated_at = :now, failure_reason = NULL"
    " WHERE id = :task_id AND :move) " + _ACTIVITY
).bindparams(bindparam("review_reasons", type_=JSONB))

# Sent overrides any status; the client's last contact only moves forward (GREATEST
# ignores a NULL).
STORE_SENT = text(
    "WITH email AS ("
    " UPDATE emails SET provider_message_id = :provider_message_id, transport = :transport,"
    " sent_at = :sent_at, status = 'sent', updated_at = :now, failure_reason = NULL"
    " WHERE id = :email_id), "
    "task AS ("
    " UPDATE tasks SET status = 'sent', updated_at = :now, failure_reason = NULL"
    " WHERE id = :task_id), "
    "client AS ("
    " UPDATE clients SET last_contacted_at = GREATEST(last_contacted_at, :sent_at),"
    " updated_at = :now WHERE id = :client_id) " + _ACTIVITY
)

# The plan run locked, then (a fresh snapshot: what the transactions it waited for
# committed) whether any of its tasks is still open: ``finish_if_complete``'s own reads,
# without loading the run, so that it runs only when the run is about to be done.
LOCK_RUN = text("SELECT status FROM plan_runs WHERE id = :run_id FOR UPDATE")
RUN_HAS_OPEN_TASKS = text(
    "SELECT EXISTS (SELECT FROM tasks WHERE plan_run_id = :run_id"
    " AND status IN (" + ", ".join(f"'{status}'" for status in OPEN_STATUSES) + "))"
)
