/* The ring_worker_value fuzz target's corpus, replayed (see replay.h). */
#include "../../fuzz/ring_worker_value.c"
#include "replay.h"

Test(fuzz_ring_worker_value, corpus_replay)
{
    replay_corpus("ring_worker_value", 5);
}
