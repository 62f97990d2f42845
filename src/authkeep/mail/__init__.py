"""E-mail: the outbox flows write to (`outbox.enqueue`), the templates (`render`), the sender
that delivers it from every node (`sender`), SMTP and the dev mailbox (`transport`), and the
mailbox's queries (`mailbox`)."""
