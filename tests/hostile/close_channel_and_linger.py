# hostile: at import, closes the harness's reply channel and keeps the process up with a non-daemon thread: a harness that waits for the worker to exit once its channel closes waits forever
# wrong: svm_loss_naive, svm_loss_vectorized, softmax_loss_naive, softmax_loss_vectorized, sample_batch, train_linear_classifier, predict_linear_classifier, svm_get_search_params, softmax_get_search_params, test_one_param_set, LinearClassifier, LinearSVM, Softmax
# expect: fail
# needs: a bounded wait for the exit status once the channel closes, then the kill
# safe harness: import fails: every one of the 13 names is 'error' with a message that the
#   worker closed the harness's channel and went on running; verdict fail, in bounded time.
import os
import sys
import threading
import time

threading.Thread(target=lambda: time.sleep(3600)).start()  # the interpreter cannot exit
os.close(int(sys.argv[2]))  # the worker's reply channel (its number is in its argv)
