# SparseMSE (Chan, Silverman & Vincent 2021): stepwise selection with a BCa bootstrap that
# re-runs the selection in every replicate; the counterpart of benchmarks/bench_bootstrap.py.
# Usage: Rscript sparsemse.R TABLE.csv NBOOT SEED
# Prints key=value lines: seconds (estimatepopulation alone, data already read), estimate
# and interval.
args <- commandArgs(trailingOnly = TRUE)
if (!requireNamespace("SparseMSE", quietly = TRUE)) {
  cat("missing=SparseMSE\n")
  quit(status = 3)
}
suppressMessages(library(SparseMSE))
d <- read.csv(args[1])
nboot <- as.integer(args[2])
seed <- as.integer(args[3])
zdat <- d[d$count > 0 & rowSums(d[, setdiff(names(d), "count"), drop = FALSE]) > 0, ]
# Pass only the arguments this version of estimatepopulation takes.
wanted <- list(zdat = zdat, nboot = nboot, pthresh = 0.02, iseed = seed,
               alpha = c(0.025, 0.975), method = "stepwise")
call_args <- wanted[names(wanted) %in% names(formals(estimatepopulation))]
t0 <- proc.time()[["elapsed"]]
res <- do.call(estimatepopulation, call_args)
seconds <- proc.time()[["elapsed"]] - t0
est <- unlist(res$estimate)
cat(sprintf("version=%s\nseconds=%.4f\nnboot=%d\n", as.character(packageVersion("SparseMSE")),
            seconds, nboot))
cat(sprintf("estimate=%s\n", paste(format(est, digits = 10), collapse = ",")))
