"""Settings of the property suite alone (the benchmarks need torch's threads)."""
import torch

# The properties use tiny tensors: on a busy 2-core machine, waking torch's thread
# pool costs milliseconds per op, which made the suite 4x slower.
torch.set_num_threads(1)
