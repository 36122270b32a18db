"""The proxy of a site: the party's single public (gRPC) port, mailbox and control relay.

Run with ``python -m services.proxy``; the contract is ``docs/platform.md``. Behaviour beyond it:

- A push returns once the envelope is stored in the addressee's mailbox (each chunk is forwarded
  as its own call, so a proxy holds at most one chunk per push in flight, never a whole message).
- A full mailbox makes pushes wait up to ``push_wait_s`` (then ``RESOURCE_EXHAUSTED``); at most
  ``max_concurrent_pushes`` stores and as many forwards run at once (more: ``UNAVAILABLE``,
  which clients retry), so threads always remain to serve the pulls that drain the mailbox.
- A proxy forwards only its own party's envelopes (no relaying between other parties) and
  accepts envelopes and control messages only from parties in its route table (or its own).
- With ``FEDLOOM_PROXY_PUBLIC_LISTEN`` the proxy has two listeners (``peers.py``): the
  site-local one (plaintext, for this site's flow and executors: Pull, Abort, its own pushes
  and control messages) and the public one for peer proxies, which requires mTLS when
  ``FEDLOOM_TLS_CERT``/``_KEY``/``_CA`` are set and checks that the client certificate names
  (``party-<id>``) the party each envelope or control message claims as ``src`` (``tls.py``).
  Without a public listener one plaintext port serves both (local demo, tests): production
  deployments must use TLS.
"""
