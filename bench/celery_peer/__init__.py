"""The same follow-up loop the way a Python team would otherwise write it: Celery beat
ticks, a worker claims the due tasks and dispatches a chain compose → send per task
(the openai SDK, boto3 SES), each step recording its result in PostgreSQL."""
