# Rcapture (Baillargeon & Rivest 2007): closedp.t, the closed-population models M0, Mt,
# Mh-* and Mth-* at once; the counterpart of benchmarks/bench_rcapture.py.
# Usage: Rscript rcapture.R TABLE.csv REPEATS
# Prints key=value lines: seconds per closedp.t call (mean of REPEATS), and the abundance of
# the model with the smallest AIC.
args <- commandArgs(trailingOnly = TRUE)
if (!requireNamespace("Rcapture", quietly = TRUE)) {
  cat("missing=Rcapture\n")
  quit(status = 3)
}
suppressMessages(library(Rcapture))
d <- read.csv(args[1])
repeats <- as.integer(args[2])
X <- as.matrix(d[d$count > 0, ])
t0 <- proc.time()[["elapsed"]]
for (r in seq_len(repeats)) res <- closedp.t(X, dfreq = TRUE)
seconds <- (proc.time()[["elapsed"]] - t0) / repeats
tab <- res$results
best <- rownames(tab)[which.min(tab[, "AIC"])]
cat(sprintf("version=%s\nseconds=%.5f\nbest=%s\nabundance=%.1f\n",
            as.character(packageVersion("Rcapture")), seconds, best, tab[best, "abundance"]))
