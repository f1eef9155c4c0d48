"""The local collector: a process that owns the store, fed by the apps over a Unix socket.

* :mod:`.frames`: what an app sends (one ``SOCK_SEQPACKET`` message per record);
* :mod:`.launch`: where a store's collector listens, and starting one on demand;
* :mod:`.handoff`: the app's side (one non-blocking ``send()`` per record);
* :mod:`.server`: the collector itself (``llmlog collect``, or started by an app).
"""
