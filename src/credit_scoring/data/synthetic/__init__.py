"""Synthetic Home Credit data: the eight Kaggle tables with a learnable default signal.

Every draw comes from one seeded ``numpy`` generator and is vectorised, so a config always gives
the same tables. The recipe:

* Each client gets independent standard-normal latent factors: ``risk`` (drives default), ``size``
  (income, loan amounts), ``region``, ``building``, ``building_info`` (whether the housing block is
  filled), ``social`` and ``enquiry``.
* Application columns follow a Gaussian copula: a normal score ``loadings . latents + noise`` is
  mapped through the profiled quantiles (piecewise-linear inverse CDF); categories are drawn from
  the profiled frequencies, tilted by the latents. Risk loadings and tilts are read from the
  profile's ``by_target`` facts, so each column moves with risk the way it does in the real data.
* Side tables are drawn per client and per loan from the same latents: risky clients have more
  overdue bureau credits, refused applications, late or short instalments, cards near the limit.
* ``TARGET ~ Bernoulli(sigmoid(b0 + b1 * risk + g(observed values)))`` where ``g`` has threshold,
  interaction and non-monotone terms on values a model can see; ``b0`` is found by bisection so
  the realised default rate equals ``config.target_rate``.
* application_test comes from the same process with a mild drift in a few columns.
"""

from credit_scoring.data.synthetic.generate import generate_tables, iter_tables, write_tables

__all__ = ["generate_tables", "iter_tables", "write_tables"]
