"""HTTP scoring API of the registered champion model (FastAPI).

``credit_scoring.api.main:app`` is the ASGI application; ``credit_scoring.api.asgi:app`` the
same in a process without Arrow (how servers run it); :func:`credit_scoring.api.main.run` starts
that one with uvicorn. Configuration comes from ``CREDIT_API_*`` environment variables
(:class:`credit_scoring.api.settings.ApiSettings`).
"""
