"""The proxy of a site: the party's single public (gRPC) port, mailbox and control relay.

Run with ``python -m services.proxy``; the contract is ``docs/platform.md``. Behaviour beyond it:

- A push returns once the envelope is stored in the addressee's mailbox (each chunk is forwarded
  as its own call, so a proxy holds at most one chunk per push in flight, never a whole message).
- A full mailbox makes pushes wait up to ``push_wait_s`` (then ``RESOURCE_EXHAUSTED``); at most
  ``max_concurrent_pushes`` stores and as many forwards run at once (more: ``UNAVAILABLE``,
  which clients retry), so threads always remain to serve the pulls that drain the mailbox.
- A proxy forwards only its own party's envelopes (no relaying between other parties) and
  accepts envelopes and control messages only from parties in its route table (or its own).
- Pull and Abort are meant for this site's own executors; until mTLS they are not
  authenticated, so the port must only be reachable by the peers in the route table.
"""
