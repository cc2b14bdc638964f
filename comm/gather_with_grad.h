// comm/gather_with_grad.h — the global batch of embeddings: forward all-gather [b, E] -> [G, E]
// in rank order, backward reduce-scatter (sum) of the gathered gradients [G, E] -> [b, E].
#pragma once

#include <memory>

#include "comm/communicator.h"

namespace tigerfg::comm {

// gathered[G, E] = concat over ranks of local[b, E], G = world * b (rows of rank r at r * b).
// Wait() on the returned work before reading `gathered`.
std::shared_ptr<Work> GatherWithGradForward(Communicator& comm, Tensor gathered,
                                            const Tensor& local);

// d_local[b, E] (written, =) = sum over ranks of their d_gathered rows [rank * b, (rank+1) * b):
// each rank's loss rows reach every rank's embeddings, so this rank's rows collect all of them.
std::shared_ptr<Work> GatherWithGradBackward(Communicator& comm, Tensor d_local,
                                             const Tensor& d_gathered);

// gathered_ids[G] (I64) = concat over ranks of local_ids[b] (product ids for the in-batch
// positives mask); no gradient.
std::shared_ptr<Work> GatherIds(Communicator& comm, Tensor gathered_ids, const Tensor& local_ids);

}  // namespace tigerfg::comm
