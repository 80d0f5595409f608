# The plots of docs/benchmarks.md, from the data files the benchmark scripts write with --data:
#   gnuplot -e "dir='docs/img'" tests/bench/plots.gp
# (packaging/dev.sh bench runs the scripts and then this.)
if (!exists("dir")) dir = "docs/img"
set terminal pngcairo size 1100,440 font "sans,10"
set datafile separator "\t"
set datafile missing "NaN"
set style fill solid 0.65 border -1
set boxwidth 0.6
set grid ytics
set xtics rotate by -20 noenhanced
set key off
set yrange [0:*]
set offsets 0.5, 0.5, 0, 0

proxy = dir."/proxy-bench.tsv"
failover = dir."/failover-bench.tsv"

# Bars (median) with the min–max spread of block `i`: value column c, then c+1 (min), c+2 (max).
bars(i, c) = sprintf("plot proxy index %d using 0:%d:xtic(1) with boxes lc rgb '#4477aa', '' index %d using 0:%d:%d:%d with yerrorbars lc rgb 'black' pt 0", i, c, i, c, c+1, c+2)

set output dir."/proxy-throughput.png"
set multiplot layout 1,2 title "requests/s through each target: redis-benchmark -c 50, SET and GET (median; whiskers: min–max over the rounds)"
set title "-P 1"
eval bars(0, 3)
set title "-P 16"
eval bars(1, 3)
unset multiplot

set output dir."/proxy-cpu.png"
set multiplot layout 1,2 title "proxy CPU per request, µs (user+system from /proc/PID/stat; median, min–max): lower is better"
set title "-P 1"
eval bars(0, 6)
set title "-P 16"
eval bars(1, 6)
unset multiplot

set output dir."/failover.png"
set multiplot layout 1,2 title "failover: longest gap between acknowledged writes, ms (median, min–max): lower is better"
set title "kill -9 of the master"
plot failover index 0 using 0:3:xtic(1) with boxes lc rgb '#aa4444', '' index 0 using 0:3:4:5 with yerrorbars lc rgb 'black' pt 0
set title "SIGSTOP of the master past down-after, SIGCONT after the switch"
plot failover index 1 using 0:3:xtic(1) with boxes lc rgb '#aa4444', '' index 1 using 0:3:4:5 with yerrorbars lc rgb 'black' pt 0
unset multiplot

memory = dir."/memory-bench.tsv"
set output dir."/memory.png"
set terminal pngcairo size 1100,440 font "sans,10"
set title "a client that never reads: peak growth of the proxy's RSS, MiB (log scale; Redis's own memory is in the table)"
set logscale y
set yrange [0.05:*]
set key top right
set boxwidth 0.35
floor_(v) = (v < 0.05 ? 0.05 : v)
plot memory using ($0-0.18):(floor_($2)):xtic(1) with boxes lc rgb '#4477aa' title "pipelining 200,000 GETs without reading", \
     '' using ($0+0.18):(floor_($4)) with boxes lc rgb '#ddaa33' title "subscriber that never reads"
