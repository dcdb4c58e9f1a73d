"""The parts of :func:`mlplab.train`'s loop (:mod:`.loop`): sampler, step kernels,
monitor, budget. The public names stay in :mod:`mlplab.train`."""
