// Must be imported before the generated module: int64 fields (event times in ms, row and
// byte counts) decode as plain numbers, not Long objects. All our int64 values are far
// below 2^53. pbjs's --force-number does not reach the decoder in protobufjs 8.
import $protobuf from 'protobufjs/minimal.js';

$protobuf.util.Long = undefined as unknown as typeof $protobuf.util.Long;
$protobuf.configure();
