"""Training on accelerators: bpnn's own backpropagation as compiled JAX programs.

``bpnn.accel.jax_stepper`` holds the stepper and the device-side forward pass,
``bpnn.accel.jax_math`` the formulas.  Both import JAX, an optional dependency (``bpnn[gpu]`` for
NVIDIA GPUs, plain ``jax`` for its CPU backend); this package itself imports nothing, so
``import bpnn`` works without JAX.  Choosing the device: ``bpnn.device``.
"""
