"""Stand-ins the harness hands to the submission to watch how it is called.

They only record and answer with values fixed in advance; the properties judge
what they recorded (`state()`, plain data). This file is also sent to the worker
as source text: it imports only torch."""
import torch


class SpyLoss:
    """A loss_func for train_linear_classifier: records (W, X_batch, y_batch, reg),
    answers call k with loss k + 0.5 and a fixed pseudo-random gradient.

    watch_output=True: from its first call to the end of the call that trains, it also
    records the lines printed that hold a digit (progress lines, not a submission's
    other chatter), at most 50 of 200 characters each."""

    def __init__(self, seed=0, watch_output=False):
        self.calls = []
        self.grads = []
        self.losses = []
        self._gen = torch.Generator().manual_seed(seed)
        self.printed_lines = [] if watch_output else None

    def __call__(self, W, X_batch, y_batch, reg):
        if self.printed_lines is not None and not self.calls:
            import sys  # the worker restores its own stdout after the call
            sys.stdout = _LineTee(sys.stdout, self.printed_lines)
        self.calls.append((W.detach().clone(), X_batch.detach().clone(), y_batch.detach().clone(), reg))
        k = len(self.calls)
        grad = torch.randn(W.shape, generator=self._gen, dtype=torch.float64).to(W.dtype).to(W.device)
        self.grads.append(grad.clone())
        self.losses.append(k + 0.5)
        return torch.tensor(k + 0.5, dtype=W.dtype, device=W.device), grad

    def state(self):
        return {"calls": [list(c) for c in self.calls], "grads": self.grads, "losses": self.losses,
                "printed_lines": self.printed_lines}


class _LineTee:
    """Writes through to `inner` and keeps the lines that hold a digit."""

    def __init__(self, inner, lines):
        self.inner, self.lines, self.partial = inner, lines, ""

    def write(self, text):
        text = str(text)
        *done, self.partial = (self.partial + text[:100000]).split("\n")
        self.partial = self.partial[:200]
        for line in done:
            if any(ch.isdigit() for ch in line) and len(self.lines) < 50:
                self.lines.append(line[:200])
        return self.inner.write(text)

    def flush(self):
        return self.inner.flush()

    def __getattr__(self, name):
        return getattr(self.inner, name)


class SpyClassifier:
    """A classifier for test_one_param_set: records train() calls and predicts fixed labels."""

    def __init__(self, answers):
        self.answers = answers  # [(X, predicted labels)] for each split
        self.train_calls = []

    def train(self, X_train, y_train, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,
              verbose=False):
        self.train_calls.append(dict(X_train=X_train, y_train=y_train, learning_rate=learning_rate,
                                     reg=reg, num_iters=num_iters, batch_size=batch_size, verbose=verbose))
        return [0.0] * int(num_iters)

    def state(self):
        return {"train_calls": self.train_calls}

    def predict(self, X):
        for X_split, labels in self.answers:
            if X.shape == X_split.shape and torch.equal(X, X_split):
                return labels.clone()
        raise ValueError("SpyClassifier.predict: X is neither X_train nor X_val")
