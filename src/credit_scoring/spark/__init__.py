"""Spark engine: distributed batch scoring with the registered champion."""
