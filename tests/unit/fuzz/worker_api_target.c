/* The worker_api_target fuzz target's corpus, replayed (see replay.h). target.c is included,
 * as tests/unit/server/worker_api_target.c does, so no server library is needed. */
#include "../../fuzz/worker_api_target.c"
#include "replay.h"
#include "server/worker_api/target.c"

Test(fuzz_worker_api_target, corpus_replay)
{
    replay_corpus("worker_api_target", 5);
}
