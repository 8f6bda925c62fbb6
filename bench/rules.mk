# bench/: benchmarks, run by bench/run.sh (make bench).  Each bench/*.sh
# prints table rows "| what | value | target |".
