-- The workload's health: iterations done, failures seen, the last failure.
return state.iterations, state.failures, state.last_failure
