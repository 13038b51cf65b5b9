import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # The machine's cores are shared; exact-equality checks also need a fixed thread count.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
