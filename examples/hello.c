/* hello.c - the README's example: join a group, say hello, print what others say. */
#include <blip/blip.h>
#include <stdio.h>

int main(void) {
    blip_context_t* ctx;
    blip_config_t* cfg;
    blip_channel_t* ch;
    blip_event_t* ev;
    blip_event_info_t info;
    blip_context_create(&ctx);
    blip_config_create(&cfg);
    blip_config_set_string(cfg, "group", "239.255.0.1");
    blip_config_set_int(cfg, "port", 5000);
    blip_config_set_string(cfg, "interface", "127.0.0.1");
    if (blip_channel_open(ctx, cfg, &ch) != BLIP_OK) {
        fprintf(stderr, "open: %s\n", blip_config_error(cfg));
        return 1;
    }
    blip_channel_send(ch, "hello", 5, NULL);
    while (blip_channel_receive(ch, 10000, &ev) == BLIP_OK) { /* until 10 s of silence */
        info.size = sizeof info;
        blip_event_get_info(ev, &info);
        if (info.type == BLIP_EVENT_MESSAGE)
            printf("%llx says %.*s\n", (unsigned long long)info.node_id, (int)info.length,
                   (const char*)info.data);
        blip_event_free(ev);
    }
    blip_context_destroy(ctx);
    blip_config_destroy(cfg);
    return 0;
}
