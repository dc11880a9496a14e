#!/usr/bin/env perl
# g++ 12.2 destroys a lambda (or a brace-initialised aggregate) made inside
# a co_await expression one time too many: `co_await asyncio::timeout(1.0,
# [task] {...})` releases `task` twice (a standalone program shows it: one
# destructor more than constructors; clang 14 is right). Captures by
# reference are harmless (nothing to destroy); a capture by copy of a
# shared_ptr, a string, a Task... is undefined behaviour. Name the lambda
# first: `const auto body = [task] {...}; co_await asyncio::timeout(1.0, body);`
#
# Usage: co_await_temporaries.pl FILE...  (lists each case; exit 1 if any)
use strict;
use warnings;

my $found = 0;
for my $file (@ARGV) {
    open(my $in, '<', $file) or die "$file: $!";
    local $/;
    my $text = <$in>;
    close $in;
    (my $code = $text) =~ s{//[^\n]*}{' ' x length($&)}ge;  # comments out, offsets kept
    while ($code =~ /\bco_await\b/g) {
        my $start = pos($code);
        # The co_await expression: up to a ';' or ',' at depth 0, or an unmatched closer.
        my ($depth, $end) = (0, length $code);
        for (my $i = $start; $i < length $code; ++$i) {
            my $c = substr($code, $i, 1);
            if ($c =~ /[({\[]/) { ++$depth; }
            elsif ($c =~ /[)}\]]/) { if ($depth == 0) { $end = $i; last; } --$depth; }
            elsif (($c eq ';' || $c eq ',') && $depth == 0) { $end = $i; last; }
        }
        my $expression = substr($code, $start, $end - $start);
        # Lambda bodies run later, not in this expression: blank them out.
        1 while $expression =~ s/\{[^{}]*\}/ /g;
        # Lambda introducers: '[captures]' after '(' ',' '=' or 'return' (a subscript follows a name).
        while ($expression =~ /(?:^|[(,={]|\breturn)\s*\[([^\[\]]*)\]/g) {
            my $captures = $1;
            my @by_copy = grep { !/^\s*(?:&.*|this|\*this)?\s*$/ } split /,/, $captures;
            next unless @by_copy;
            my $line = 1 + (substr($text, 0, $start) =~ tr/\n//);
            print "$file:$line: co_await over a lambda capturing by copy [$captures]\n";
            $found = 1;
        }
    }
}
exit $found;
