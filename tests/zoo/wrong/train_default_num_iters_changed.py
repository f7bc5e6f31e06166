# zoo: blames train_linear_classifier
# zoo-mistake: signature-changed
# bug: changed the default num_iters of train_linear_classifier to 1500 (the notebook calls it with the defaults)
import torch
import random
import statistics
from abc import abstractmethod

def hello_linear_classifier():
  """
  This is a sample function that we will try to import and run to ensure that
  our environment is correctly set up on Google Colab.
  """
  print('Hello from linear_classifier.py!')


# Template class modules that we will use later: Do not edit/modify this class
class LinearClassifier(object):
  """ An abstarct class for the linear classifiers """
  # Note: We will re-use `LinearClassifier' in both SVM and Softmax
  def __init__(self):
    random.seed(0)
    torch.manual_seed(0)
    self.W = None

  def train(self, X_train, y_train, learning_rate=1e-3, reg=1e-5, num_iters=100,
            batch_size=200, verbose=False):
    train_args = (self.loss, self.W, X_train, y_train, learning_rate, reg,
                  num_iters, batch_size, verbose)
    self.W, loss_history = train_linear_classifier(*train_args)
    return loss_history

  def predict(self, X):
    return predict_linear_classifier(self.W, X)

  @abstractmethod
  def loss(self, W, X_batch, y_batch, reg):
    """
    Compute the loss function and its derivative.
    Subclasses will override this.
    """
    raise NotImplementedError

  def _loss(self, X_batch, y_batch, reg):
    self.loss(self.W, X_batch, y_batch, reg)

  def save(self, path):
    torch.save({'W': self.W}, path)
    print("Saved in {}".format(path))

  def load(self, path):
    W_dict = torch.load(path, map_location='cpu')
    self.W = W_dict['W']
    print("load checkpoint file: {}".format(path))



class LinearSVM(LinearClassifier):
  """ A subclass that uses the Multiclass SVM loss function """
  def loss(self, W, X_batch, y_batch, reg):
    return svm_loss_vectorized(W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
  """ A subclass that uses the Softmax + Cross-entropy loss function """
  def loss(self, W, X_batch, y_batch, reg):
    return softmax_loss_vectorized(W, X_batch, y_batch, reg)



#**************************************************#
################## Section 1: SVM ##################
#**************************************************#

def svm_loss_naive(W, X, y, reg):
  """
  Structured SVM loss function, naive implementation (with loops).
  """
  dW = torch.zeros_like(W) # initialize the gradient as zero

  # compute the loss and the gradient
  num_classes = W.shape[1]
  num_train = X.shape[0]
  loss = 0.0
  for i in range(num_train):
    scores = W.t().mv(X[i])
    correct_class_score = scores[y[i]]
    for j in range(num_classes):
      if j == y[i]:
        continue
      margin = scores[j] - correct_class_score + 1 # note delta = 1
      if margin > 0:
        loss += margin
        dW[:, j] += X[i]
        dW[:, y[i]] -= X[i]

  # Right now the loss is a sum over all training examples, but we want it
  # to be an average instead so we divide by num_train.
  loss /= num_train

  # Add regularization to the loss.
  loss += reg * torch.sum(W * W)

  dW /= num_train
  dW += 2 * reg * W

  return loss, dW


def svm_loss_vectorized(W, X, y, reg):
  """
  Structured SVM loss function, vectorized implementation.
  """
  loss = 0.0
  dW = torch.zeros_like(W) # initialize the gradient as zero

  num_train = X.shape[0]
  scores = X.mm(W)
  correct_class_scores = scores[torch.arange(num_train), y].view(-1, 1)
  margins = torch.clamp(scores - correct_class_scores + 1, min=0)
  margins[torch.arange(num_train), y] = 0
  loss = margins.sum() / num_train
  loss += reg * torch.sum(W * W)

  binary = (margins > 0).to(X.dtype)
  row_sum = binary.sum(dim=1)
  binary[torch.arange(num_train), y] = -row_sum
  dW = X.t().mm(binary) / num_train
  dW += 2 * reg * W

  return loss, dW


def sample_batch(X, y, num_train, batch_size):
  """
  Sample batch_size elements from the training data and their
  corresponding labels to use in this round of gradient descent.
  """
  X_batch = None
  y_batch = None
  weights = torch.ones(num_train, device=X.device)
  indices = torch.multinomial(weights, batch_size, replacement=True)
  X_batch = X[indices]
  y_batch = y[indices]
  return X_batch, y_batch


def train_linear_classifier(loss_func, W, X, y, learning_rate=1e-3,
                            reg=1e-5, num_iters=1500, batch_size=200,
                            verbose=False):
  """
  Train this linear classifier using stochastic gradient descent.
  """
  # assume y takes values 0...K-1 where K is number of classes
  num_train, dim = X.shape
  if W is None:
    # lazily initialize W
    num_classes = torch.max(y) + 1
    W = 0.000001 * torch.randn(dim, num_classes, device=X.device, dtype=X.dtype)
  else:
    num_classes = W.shape[1]

  # Run stochastic gradient descent to optimize W
  loss_history = []
  for it in range(num_iters):
    X_batch, y_batch = sample_batch(X, y, num_train, batch_size)

    # evaluate loss and gradient
    loss, grad = loss_func(W, X_batch, y_batch, reg)
    loss_history.append(loss.item())

    # perform parameter update
    W -= learning_rate * grad

    if verbose and it % 100 == 0:
      print('iteration %d / %d: loss %f' % (it, num_iters, loss))

  return W, loss_history


def predict_linear_classifier(W, X):
  """
  Use the trained weights of this linear classifier to predict labels for
  data points.
  """
  y_pred = torch.zeros(X.shape[0], dtype=torch.int64)
  y_pred = torch.argmax(X.mm(W), dim=1)
  return y_pred


def svm_get_search_params():
  """
  Return candidate hyperparameters for the SVM model.
  """
  learning_rates = []
  regularization_strengths = []
  learning_rates = [5e-4, 1e-3, 5e-3, 1e-2, 5e-2]
  regularization_strengths = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
  return learning_rates, regularization_strengths


def test_one_param_set(cls, data_dict, lr, reg, num_iters=2000):
  """
  Train a single LinearClassifier instance and return the learned instance
  with train/val accuracy.
  """
  train_acc = 0.0 # The accuracy is simply the fraction of data points
  val_acc = 0.0   # that are correctly classified.
  cls.train(data_dict['X_train'], data_dict['y_train'], learning_rate=lr,
            reg=reg, num_iters=num_iters)
  y_train_pred = cls.predict(data_dict['X_train'])
  train_acc = (y_train_pred == data_dict['y_train']).double().mean()
  y_val_pred = cls.predict(data_dict['X_val'])
  val_acc = (y_val_pred == data_dict['y_val']).double().mean()
  return cls, train_acc, val_acc



#**************************************************#
################ Section 2: Softmax ################
#**************************************************#

def softmax_loss_naive(W, X, y, reg):
  """
  Softmax loss function, naive implementation (with loops).
  """
  loss = 0.0
  dW = torch.zeros_like(W)

  num_train = X.shape[0]
  num_classes = W.shape[1]
  for i in range(num_train):
    scores = W.t().mv(X[i])
    scores -= scores.max()
    exp_scores = torch.exp(scores)
    probs = exp_scores / exp_scores.sum()
    loss += -torch.log(probs[y[i]])
    for j in range(num_classes):
      dW[:, j] += probs[j] * X[i]
    dW[:, y[i]] -= X[i]
  loss /= num_train
  loss += reg * torch.sum(W * W)
  dW /= num_train
  dW += 2 * reg * W

  return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
  """
  Softmax loss function, vectorized version.
  """
  loss = 0.0
  dW = torch.zeros_like(W)

  num_train = X.shape[0]
  scores = X.mm(W)
  scores = scores - scores.max(dim=1, keepdim=True)[0]
  log_sum = torch.log(torch.exp(scores).sum(dim=1, keepdim=True))
  log_probs = scores - log_sum
  loss = -log_probs[torch.arange(num_train), y].sum() / num_train
  loss += reg * torch.sum(W * W)

  probs = torch.exp(log_probs)
  probs[torch.arange(num_train), y] -= 1
  dW = X.t().mm(probs) / num_train + 2 * reg * W

  return loss, dW


def softmax_get_search_params():
  """
  Return candidate hyperparameters for the Softmax model.
  """
  learning_rates = []
  regularization_strengths = []
  learning_rates = [1e-2, 5e-2, 1e-1, 5e-1]
  regularization_strengths = [1e-4, 1e-3, 1e-2, 1e-1]
  return learning_rates, regularization_strengths
