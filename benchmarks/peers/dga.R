# dga (Madigan & York 1997; Lum, Johndrow & Ball): the exact posterior over decomposable
# graphs and N on a fixed grid; the counterpart of benchmarks/bench_dga.py.
# Usage: Rscript dga.R TABLE.csv DELTA NMAX [REPEATS]
# Prior on N proportional to 1/N (undercount's prior="inverse"); grid Nmissing = 0..NMAX.
# Prints key=value lines: seconds (bma.cr alone, best of REPEATS, default 1), posterior
# quantiles and mean of N.
args <- commandArgs(trailingOnly = TRUE)
if (!requireNamespace("dga", quietly = TRUE)) {
  cat("missing=dga\n")
  quit(status = 3)
}
suppressMessages(library(dga))
d <- read.csv(args[1])
delta <- as.numeric(args[2])
nmax <- as.integer(args[3])
repeats <- if (length(args) >= 4) as.integer(args[4]) else 1L
lists <- setdiff(names(d), "count")
J <- length(lists)
Y <- array(0, dim = rep(2, J))
for (i in seq_len(nrow(d))) {
  Y[matrix(as.integer(d[i, lists]) + 1L, nrow = 1)] <- d$count[i]
}
data(list = paste0("graphs", J), package = "dga", envir = environment())
graphs <- get(paste0("graphs", J))
Nmissing <- 0:nmax
N <- Nmissing + sum(Y)
seconds <- Inf
for (r in seq_len(repeats)) {
  t0 <- proc.time()[["elapsed"]]
  weights <- bma.cr(Y, Nmissing, delta, graphs, logprior = -log(N))
  seconds <- min(seconds, proc.time()[["elapsed"]] - t0)
}
post <- colSums(weights)
cdf <- cumsum(post) / sum(post)
qn <- function(p) N[which(cdf >= p)[1]]
cat(sprintf("version=%s\nseconds=%.4f\nlower=%d\nmedian=%d\nupper=%d\nmean=%.6f\n",
            as.character(packageVersion("dga")), seconds, qn(0.025), qn(0.5), qn(0.975),
            sum(N * post) / sum(post)))
