# tests/e2e/bench_lib.sh: what the ior_*.t and mdtest_*.t tests share: the
# MPI environment for running as root on a small machine, and the checks of
# stratus-ior and stratus-mdtest on a directory (local disk or StratusFS).
# Sourced after tests/lib.sh.

# mpirun as root, oversubscribed on 2 cores, shared memory only, its session
# files in $T.  Every run has a time limit, so a hang fails instead of waiting.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_orte_tmpdir_base="$T" OMPI_MCA_rmaps_base_oversubscribe=1
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}

# mpi NP CMD...: mpirun -np NP CMD, killed after BENCH_TIMEOUT seconds.
mpi() {
	local np=$1; shift
	timeout -k 5 "$BENCH_TIMEOUT" mpirun -np "$np" --oversubscribe "$@"
}

# size_of FILE: its size in bytes (or "missing").
size_of() { stat -c %s "$1" 2>/dev/null || echo missing; }

# one_error_line FILE PROG: exactly one line of ours in FILE.
one_error_line() { [ "$(grep -c "^$2: " "$1")" = 1 ]; }

# ior_suite DIR LABEL: stratus-ior on DIR, with and without -F.  13 x 2 + 1 points.
ior_suite() {
	local dir=$1 label=$2 f fpp name out
	for fpp in "" "-F"; do
		name=$dir/ior${fpp:+-fpp}
		out=$T/ior${fpp}.out
		mpi 4 stratus-ior -a POSIX -w -r -W -R -k -t 64k -b 256k -s 3 -G 7 $fpp -o "$name" >"$out" 2>"$T/ior${fpp}.err"
		is "$?" 0 "$label ${fpp:-shared}: write, read and both checks pass"
		like "$(cat "$out")" $'\naccess    bw\\(MiB/s\\)  IOPS       Latency\\(s\\)  block\\(KiB\\) xfer\\(KiB\\)  open\\(s\\)    wr/rd\\(s\\)   close\\(s\\)   total\\(s\\)   iter\n------    ---------' \
			"$label ${fpp:-shared}: IOR's results table header"
		like "$(grep -E '^(write|read) ' "$out" | head -2 | cut -c1-10 | tr -d ' ' | tr '\n' ,)" '^write,read,$' \
			"$label ${fpp:-shared}: one write and one read row"
		like "$(cat "$out")" $'\nMax Write: [0-9]+\\.[0-9]{2} MiB/sec \\([0-9]+\\.[0-9]{2} MB/sec\\)\nMax Read:  [0-9]+\\.[0-9]{2} MiB/sec \\([0-9]+\\.[0-9]{2} MB/sec\\)\n' \
			"$label ${fpp:-shared}: IOR's Max Write / Max Read lines"
		like "$(cat "$out")" $'\nSummary of all tests:\nOperation   Max\\(MiB\\)   Min\\(MiB\\)  Mean\\(MiB\\)     StdDev   Max\\(OPs\\)' \
			"$label ${fpp:-shared}: IOR's summary table"
		if [ -n "$fpp" ]; then
			is "$(for r in 0 1 2 3; do size_of "$name.0000000$r"; done | tr '\n' ' ')" \
				"786432 786432 786432 786432 " "$label -F: -k keeps 4 files of segments x block = 3 x 256k bytes"
			is "$(ls "$dir" | grep -c '^ior-fpp')" 4 "$label -F: and no other file"
		else
			is "$(size_of "$name")" 3145728 "$label shared: -k keeps one file of tasks x segments x block = 4 x 3 x 256k bytes"
			is "$(ls "$dir" | grep -c '^ior$')" 1 "$label shared: and no other file"
		fi
		mpi 4 stratus-ior -a MPIIO -r -R -k -t 64k -b 256k -s 3 -G 7 $fpp -o "$name" >"$out" 2>&1
		is "$?" 0 "$label ${fpp:-shared}: a later MPIIO run with the same -G verifies the kept data"
		mpi 4 stratus-ior -r -R -k -t 64k -b 256k -s 3 -G 8 $fpp -o "$name" >"$out" 2>&1
		isnt_zero "$?" "$label ${fpp:-shared}: with another seed (-G 8) verification fails"
		# One byte flipped in the middle of the data of task 2.
		if [ -n "$fpp" ]; then f=$name.00000002; off=400000; else f=$name; off=$((2 * 262144 + 5)); fi
		printf '\xff' | dd of="$f" bs=1 seek=$off conv=notrunc status=none
		mpi 4 stratus-ior -r -R -k -t 64k -b 256k -s 3 -G 7 $fpp -o "$name" >"$out" 2>&1
		isnt_zero "$?" "$label ${fpp:-shared}: after corrupting one byte, -R fails"
		like "$(grep '^stratus-ior: error:' "$out")" "data check of the data read failed: 1 of 393216 8-byte words differ.*the first at byte $((off / 8 * 8)) of '$f'" \
			"$label ${fpp:-shared}: and says which word of which file"
		mpi 4 stratus-ior -w -r -t 64k -b 256k $fpp -o "$name" >"$out" 2>&1
		ok "$label ${fpp:-shared}: without -k the files are removed (remove row printed)" \
			sh -c "[ \$(ls '$dir' | grep -c '^ior') = 0 ] && grep -q '^remove    -' '$out'"
	done
	# The seed's command, scaled down: MPIIO, O_DIRECT hint, file per process.
	mpi 4 stratus-ior -a MPIIO -v -B -F -r -w -t 32k -b 1m -o "$dir/test.$(date +%Y%m%d)" >"$T/seed.out" 2>&1
	ok "$label: the seed's command (scaled: -t 32k -b 1m) runs" sh -c "grep -q '^Max Write: ' '$T/seed.out' && grep -q '^Max Read: ' '$T/seed.out'"
}

# isnt_zero RC DESC
isnt_zero() { if [ "$1" != 0 ]; then pass "$2"; else fail "$2" "exit status was 0"; fi; }

# mdtest_suite DIR LABEL: stratus-mdtest on DIR.  11 points.
mdtest_suite() {
	local dir=$1 label=$2 j=$T/md.json
	mkdir -p "$dir/md"
	mpi 4 stratus-mdtest -n 25 -d "$dir/md" -w 100 -e 100 --json="$j" >"$T/md.out" 2>&1
	is "$?" 0 "$label: a full run (create, stat, read, remove) succeeds"
	like "$(cat "$T/md.out")" $'\nSUMMARY rate \\(in ops/sec\\): \\(of 1 iterations\\)\n   Operation                     Max            Min           Mean        Std Dev\n   ---------' \
		"$label: mdtest's SUMMARY rate table"
	is "$(grep -cE '^   (Directory creation|Directory stat|Directory removal|File creation|File stat|File read|File removal|Tree creation|Tree removal) ' "$T/md.out")" 9 \
		"$label: with its nine rows"
	is "$(grep -o '"items": [0-9]*' "$j" | awk '{print $2}' | tr '\n' ' ')" "100 100 100 100 100 100 100 1 1 " \
		"$label: each phase did exactly -n x tasks items (JSON)"
	is "$(find "$dir/md" -mindepth 1 | wc -l)" 0 "$label: and left nothing behind"

	mpi 4 stratus-mdtest -C -u -n 25 -w 4096 -d "$dir/md" >"$T/md.out" 2>&1
	is "$(find "$dir/md" -type f -size 4096c | wc -l) $(find "$dir/md" -type d -name 'dir.mdtest.*' | wc -l)" "100 100" \
		"$label: -C -u -w 4096 makes 25 x 4 files of 4096 bytes and 25 x 4 directories"
	mpi 4 stratus-mdtest -T -u -n 25 -d "$dir/md" --json="$j" >"$T/md.out" 2>&1
	is "$(grep -E '"(File|Directory) stat"' "$j" | grep -o '"items": [0-9]*' | tr '\n' ' ')" '"items": 100 "items": 100 ' \
		"$label: -T stats exactly those 200 items"
	mpi 4 stratus-mdtest -r -u -n 25 -d "$dir/md" >"$T/md.out" 2>&1
	is "$?$(find "$dir/md" -mindepth 1 | wc -l)" "00" "$label: -r removes them all and the tree"
	mpi 4 stratus-mdtest -T -n 5 -d "$dir/md" >"$T/md.out" 2>&1
	isnt_zero "$?" "$label: -T with nothing created fails"
	ok "$label: with one line of ours naming the missing item" one_error_line "$T/md.out" stratus-mdtest
	rmdir "$dir/md"
	ok "$label: the failed -T run left the directory empty" test ! -e "$dir/md"
}
