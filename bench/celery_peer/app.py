"""The Celery application: broker from PEER_BROKER_URL, beat ticking every second.

``celery -A bench.celery_peer.app worker`` / ``celery -A bench.celery_peer.app beat``.
"""

from __future__ import annotations

import os

from celery import Celery

QUEUE = os.environ.get("PEER_QUEUE", "realtoros-bench-peer")

app = Celery("realtoros_peer", include=["bench.celery_peer.tasks"])
app.conf.update(
    broker_url=os.environ.get("PEER_BROKER_URL", "redis://127.0.0.1:6379/11"),
    broker_connection_retry_on_startup=True,
    task_default_queue=QUEUE,
    task_ignore_result=True,
    # At-least-once, as the loop needs: a task is acked after it ran.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=4,
    timezone="UTC",
    # The tick on a queue of its own, so it is not stuck behind thousands of chains.
    task_routes={"bench.celery_peer.tasks.claim_due_tasks": {"queue": f"{QUEUE}-ticks"}},
    beat_schedule={
        "claim-due-tasks": {
            "task": "bench.celery_peer.tasks.claim_due_tasks",
            "schedule": float(os.environ.get("PEER_TICK_SECONDS", "1.0")),
            "options": {"expires": 5},
        }
    },
)
