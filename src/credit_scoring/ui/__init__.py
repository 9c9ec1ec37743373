"""Streamlit app for credit officers: score a client through the API and explain the decision.

``client`` is a typed HTTP client of the scoring API, ``charts`` builds the figures and the
human-readable labels, ``app`` is the Streamlit script (``streamlit run .../ui/app.py``).
"""
