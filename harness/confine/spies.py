"""Stand-ins the harness hands to the submission to watch how it is called.

They only record and answer with values fixed in advance; the properties judge
what they recorded (`state()`, plain data). This file is also sent to the worker
as source text: it imports only torch. A repro writes their source out in full."""
import torch


class SpyLoss:
    """A loss_func for train_linear_classifier: records (W, X_batch, y_batch, reg),
    answers call k with loss k + 0.5 and a fixed pseudo-random gradient. (What the
    training prints around its calls is the worker's: Subject.progress_lines.)"""

    def __init__(self, seed=0):
        self.calls = []
        self.grads = []
        self.losses = []
        self._gen = torch.Generator().manual_seed(seed)

    def __call__(self, W, X_batch, y_batch, reg):
        self.calls.append((W.detach().clone(), X_batch.detach().clone(), y_batch.detach().clone(), reg))
        k = len(self.calls)
        grad = torch.randn(W.shape, generator=self._gen, dtype=torch.float64).to(W.dtype).to(W.device)
        self.grads.append(grad.clone())
        self.losses.append(k + 0.5)
        return torch.tensor(k + 0.5, dtype=W.dtype, device=W.device), grad

    def state(self):
        return {"calls": [list(c) for c in self.calls], "grads": self.grads, "losses": self.losses}


class SpyClassifier:
    """A classifier for test_one_param_set that behaves like a trained LinearClassifier:
    train() records its arguments and leaves the given weights in self.W; predict(X) is
    the argmax of X @ self.W, so cls.predict(X) and predict_linear_classifier(cls.W, X)
    agree, as on a real instance."""

    def __init__(self, W):
        self.W = None
        self._trained_W = W
        self.train_calls = []

    def train(self, X_train, y_train, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,
              verbose=False):
        self.train_calls.append(dict(X_train=X_train, y_train=y_train, learning_rate=learning_rate,
                                     reg=reg, num_iters=num_iters, batch_size=batch_size, verbose=verbose))
        self.W = self._trained_W.clone()
        return [0.0] * int(num_iters)

    def predict(self, X):
        return torch.argmax(X @ self.W, dim=1)

    def state(self):
        return {"train_calls": self.train_calls}
