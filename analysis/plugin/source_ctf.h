/*
 * analysis/plugin/source_ctf.h - source.hvlab.ctf: hvlab's own CTF reader
 * (analysis/ctf_native.h) as a babeltrace2 source, for the traces
 * babeltrace2 2.0's source.ctf.fs refuses (a stream file cut short).
 *
 *   babeltrace2 --plugin-path=build CUT_TRACE -c sink.hvlab.check
 *   babeltrace2 --plugin-path=build -c source.hvlab.ctf \
 *       -p 'inputs=["CUT_TRACE"]' -c sink.hvlab.check
 *
 * The rules are in source_ctf.c (S1-S9).  hvlab.c registers the class (its
 * H5: every registration macro sits beside BT_PLUGIN_MODULE()); these are
 * the methods it registers.
 */
#ifndef HVLAB_ANALYSIS_PLUGIN_SOURCE_CTF_H
#define HVLAB_ANALYSIS_PLUGIN_SOURCE_CTF_H

#include <babeltrace2/babeltrace.h>

bt_component_class_initialize_method_status
src_ctf_init(bt_self_component_source *self, bt_self_component_source_configuration *cfg,
             const bt_value *params, void *init_data);
void src_ctf_finalize(bt_self_component_source *self);

bt_component_class_query_method_status
src_ctf_query(bt_self_component_class_source *cls, bt_private_query_executor *qe,
              const char *object, const bt_value *params, void *method_data,
              const bt_value **result);

bt_message_iterator_class_initialize_method_status
src_ctf_iter_init(bt_self_message_iterator *self, bt_self_message_iterator_configuration *cfg,
                  bt_self_component_port_output *port);
void src_ctf_iter_finalize(bt_self_message_iterator *self);
bt_message_iterator_class_next_method_status
src_ctf_iter_next(bt_self_message_iterator *self, bt_message_array_const msgs,
                  uint64_t capacity, uint64_t *count);

/* S2: the weight source.hvlab.ctf answers for a directory whose traces it
   reads and where a stream file is cut short; source.ctf.fs answers 0.75
   for any CTF trace directory. */
#define SRC_CTF_WEIGHT 0.8

#endif /* HVLAB_ANALYSIS_PLUGIN_SOURCE_CTF_H */
