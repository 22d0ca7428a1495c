/* The http_parse fuzz target's corpus, replayed (see replay.h). */
#include "../../fuzz/http_parse.c"
#include "replay.h"

Test(fuzz_http_parse, corpus_replay)
{
    replay_corpus("http_parse", 5);
}
