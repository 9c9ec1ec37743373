"""HTTP scoring API of the registered champion model (FastAPI).

``credit_scoring.api.main:app`` is the ASGI application; :func:`credit_scoring.api.main.run` starts
it with uvicorn. Configuration comes from ``CREDIT_API_*`` environment variables
(:class:`credit_scoring.api.settings.ApiSettings`).
"""
