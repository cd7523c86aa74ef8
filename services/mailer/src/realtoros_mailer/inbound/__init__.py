"""Inbound email: the client's replies, from SES receiving (via SNS) or the local SMTP
server, parsed, classified and published as ClientReplied / AutoReplyReceived."""
